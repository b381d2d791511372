public import GRPCCore
public import ServiceLifecycle

/// Runs a `GRPCServer` as a lifecycle `Service`: serves until graceful shutdown, then stops
/// accepting calls and lets the ones in flight finish.
public struct GRPCServerService<Transport: ServerTransport>: Service {
    public let server: GRPCServer<Transport>

    public init(server: GRPCServer<Transport>) {
        self.server = server
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
