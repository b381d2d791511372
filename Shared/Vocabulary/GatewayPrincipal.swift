/// The bus principal of an agency gateway registered in the identity service:
/// `gateway:ORGANISATION-ID:GATEWAY-ID`. Only a broker gives it, from identity's registry (a
/// static allow-list may not use the `gateway:` prefix), so a service that sees it as a call's
/// peer knows which organisation's system made the call without asking anyone.
public struct GatewayPrincipal: Sendable, Hashable, CustomStringConvertible {
    public static let prefix = "gateway:"

    public var organisationID: String
    public var gatewayID: String

    public init(organisationID: String, gatewayID: String) {
        self.organisationID = organisationID
        self.gatewayID = gatewayID
    }

    /// `nil` unless `principal` is a gateway's.
    public init?(_ principal: String) {
        guard principal.hasPrefix(Self.prefix) else { return nil }
        let parts = principal.dropFirst(Self.prefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(organisationID: String(parts[0]), gatewayID: String(parts[1]))
    }

    public var description: String { "\(Self.prefix)\(organisationID):\(gatewayID)" }
}
