import BenchmarkSupport
import Broker
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ServiceRuntime
import ZeroMQ

/// ContactPoint's transport: client → broker → worker and back, CURVE on every hop, all three
/// in this process on loopback TCP.
enum BusScenario {
    static func run<T: Sendable>(
        _ body: @Sendable (Contactpoint_V1_Echo.Client<BusClientTransport>) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let bus = try await LoopbackBroker.start(server: "bench-server", client: "bench-client", logger: logger)
        defer { bus.broker.beginGracefulShutdown() }

        var serverConfig = BusServerTransport.Config(brokers: [bus.address], keyPair: bus.serverKeys)
        serverConfig.sessionsPerBroker = Int(ProcessInfo.processInfo.environment["BENCH_SESSIONS"] ?? "") ?? 64
        let server = GRPCServer(
            transport: try BusServerTransport(config: serverConfig, logger: logger),
            services: [EchoService(instance: "bench")])
        let client = try BusClientTransport(
            config: .init(brokers: [bus.address], keyPair: bus.clientKeys), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let result = try await withGRPCClient(transport: client) { client in
                let echo = Contactpoint_V1_Echo.Client(wrapping: client)
                // Wait until every worker session has registered.
                for _ in 0..<1_000 { _ = try await echo.get(.with { $0.text = "warm" }) }
                return try await body(echo)
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }
}
