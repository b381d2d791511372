public import ContactPointAPI
import GRPCCore

/// What the consent service decides for the index and the notification service: which sensitive
/// services' involvements with a child consent (or a named-person override) allows to be recorded,
/// shown to practitioners of other organisations and announced to them.
public protocol ConsentDecisions: Sendable {
    /// Of `serviceTypes`, those allowed for the child now.
    func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<
        Contactpoint_V1_ServiceType
    >
    /// Records the consent a practitioner gives with their own sensitive service's involvement, on
    /// their behalf. A refusal is an RPCError whose message names the field as `consent.…`.
    func recordConsent(_ request: Contactpoint_V1_RecordConsentRequest) async throws
}

/// The decisions without a consent service: deny (fail closed). A sensitive involvement is then
/// neither recorded nor shown beyond its own organisation.
public struct NoConsentService: ConsentDecisions {
    public init() {}
    public func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<
        Contactpoint_V1_ServiceType
    > { [] }
    public func recordConsent(_ request: Contactpoint_V1_RecordConsentRequest) async throws {
        throw RPCError(code: .unavailable, message: "there is no consent service to record consent with")
    }
}
