public import ContactPointAPI
public import GRPCCore

/// What the consent service asks the index about a child before it authorizes a call: whether
/// the child is on the index, its local authority, and whether an organisation is involved.
public protocol ChildStandings: Sendable {
    /// `nil`: no such child on the index.
    func standing(ofChild childID: String, organisationID: String) async throws
        -> Contactpoint_V1_ChildStandingResponse?
}

/// The index's answers over the bus. The consent service's bus principal must be among the
/// index's standing readers.
public struct IndexChildStandings<Transport: ClientTransport>: ChildStandings {
    let index: Contactpoint_V1_Index.Client<Transport>

    public init(client: GRPCClient<Transport>) {
        index = Contactpoint_V1_Index.Client(wrapping: client)
    }

    public func standing(ofChild childID: String, organisationID: String) async throws
        -> Contactpoint_V1_ChildStandingResponse?
    {
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        do {
            return try await index.childStanding(
                .with {
                    $0.childID = childID
                    $0.organisationID = organisationID
                }, options: options)
        } catch let error as RPCError where error.code == .notFound {
            return nil
        }
    }
}
