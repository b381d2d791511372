public import Authentication
public import ContactPointAPI

/// What the consent service decides for the index: whether a sensitive service's involvement
/// with a child may be recorded, and whether it may be shown to a practitioner of another
/// organisation. Only sensitive service types are asked about.
public protocol ConsentDecisions: Sendable {
    func mayRecord(childID: String, serviceType: Contactpoint_V1_ServiceType, for caller: Caller) async throws -> Bool
    func mayDisclose(_ involvement: Contactpoint_V1_Involvement, to caller: Caller) async throws -> Bool
}

/// The decisions while no consent service exists: deny (fail closed). A sensitive involvement
/// is then neither recorded nor shown beyond its own organisation.
public struct NoConsentService: ConsentDecisions {
    public init() {}
    public func mayRecord(childID: String, serviceType: Contactpoint_V1_ServiceType, for caller: Caller) async throws -> Bool { false }
    public func mayDisclose(_ involvement: Contactpoint_V1_Involvement, to caller: Caller) async throws -> Bool { false }
}
