public import GRPCCore
public import GRPCInProcessTransport
public import ServiceRuntime

extension BusService {
    /// Serves this service's RPCs behind its own interceptors over the in-process transport, with
    /// its companions running, for the duration of `body`: a service as its production builder
    /// made it, without the bus.
    public func servedInProcess<T: Sendable>(
        _ body: @Sendable (GRPCClient<InProcessTransport.Client>) async throws -> T
    ) async throws -> T {
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: rpcServices, interceptors: interceptors)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            for companion in companions { group.addTask { try await companion.run() } }
            defer {
                server.beginGracefulShutdown()
                group.cancelAll()
            }
            return try await withGRPCClient(transport: transport.client) { client in try await body(client) }
        }
    }
}

extension ConfigurationReader {
    /// A reader of nothing but `settings` (key → value; a list's values separated by spaces), as
    /// if they were in the environment.
    public static func settings(_ settings: [String: String]) throws -> ConfigurationReader {
        try ConfigurationReader(
            executable: "test", file: nil,
            environment: Dictionary(uniqueKeysWithValues: settings.map { (environmentVariable(for: $0.key), $0.value) })
        )
    }
}
