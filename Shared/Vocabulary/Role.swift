/// A role a practitioner's account holds, as session tokens carry it (`roles` claim) and the
/// audit trail records it. The set is closed: a struct over a private enum, so that a check can
/// name only a role that exists (the shape of grpc-swift's `RPCError.Code`).
public struct Role: Hashable, Sendable, CustomStringConvertible, Comparable {
    private enum Wrapped: String, CaseIterable {
        case practitioner
        case namedPerson = "named-person"
        case localAuthorityAdministrator = "la-administrator"
        case auditor
        case systemAdministrator = "system-administrator"
    }

    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// A role by its name on the wire, or `nil` for a name that is not a role.
    public init?(name: String) {
        guard let wrapped = Wrapped(rawValue: name) else { return nil }
        self.wrapped = wrapped
    }

    /// The name on the wire and in the audit trail: `named-person`.
    public var name: String { wrapped.rawValue }
    public var description: String { name }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.name < rhs.name }

    /// A practitioner of an organisation involved with children.
    public static let practitioner = Role(.practitioner)
    /// A practitioner who may override a shield or consent for child protection.
    public static let namedPerson = Role(.namedPerson)
    /// Administers a local authority's accounts and children.
    public static let localAuthorityAdministrator = Role(.localAuthorityAdministrator)
    /// Reviews the audit trail nationally.
    public static let auditor = Role(.auditor)
    /// Administers organisations and every account.
    public static let systemAdministrator = Role(.systemAdministrator)

    public static let all: [Role] = Wrapped.allCases.map(Role.init)
}

extension Role: Codable {
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let role = Role(name: name) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "no role \(name)"))
        }
        self = role
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
