public import GRPCCore
public import ServiceLifecycle

/// Runs a client's connections for as long as the service runs: a companion for a service that
/// calls another (give the same client to its handlers).
public struct ClientConnections<Transport: ClientTransport>: Service {
    let client: GRPCClient<Transport>

    public init(client: GRPCClient<Transport>) {
        self.client = client
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
