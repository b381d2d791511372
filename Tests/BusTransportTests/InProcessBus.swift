import Broker
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ZeroMQ

/// A broker, a server and a client in this test process, talking over real CURVE-secured TCP
/// sockets on loopback: the bus transports under test without starting executables.
struct InProcessBus {
    let broker: BrokerAddress
    let serverKeys: CurveKeyPair
    let clientKeys: CurveKeyPair

    /// Runs `body` with a client connected through a fresh broker to a server hosting `services`.
    static func with<T: Sendable>(
        services: [any RegistrableRPCService],
        sessionsPerBroker: Int = 4,
        configureBroker: (inout Broker.Config) -> Void = { _ in },
        configureClient: (inout BusClientTransport.Config) -> Void = { _ in },
        _ body: @Sendable (GRPCClient<BusClientTransport>) async throws -> T
    ) async throws -> T {
        try await withServer(
            services: services, sessionsPerBroker: sessionsPerBroker, configureBroker: configureBroker,
            configureClient: configureClient
        ) { client, _ in
            try await body(client)
        }
    }

    /// ``with(services:sessionsPerBroker:configureBroker:configureClient:_:)``, giving `body` the server too.
    static func withServer<T: Sendable>(
        services: [any RegistrableRPCService],
        sessionsPerBroker: Int = 4,
        configureBroker: (inout Broker.Config) -> Void = { _ in },
        configureClient: (inout BusClientTransport.Config) -> Void = { _ in },
        _ body: @Sendable (GRPCClient<BusClientTransport>, GRPCServer<BusServerTransport>) async throws -> T
    ) async throws -> T {
        let brokerKeys = try CurveKeyPair.generate()
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        let allowList = try AllowList([
            .init(principal: "test-server", publicKey: serverKeys.publicKey, services: ["*"]),
            .init(principal: "test-client", publicKey: clientKeys.publicKey),
        ])
        var brokerConfig = Broker.Config(keyPair: brokerKeys, allowList: allowList)
        brokerConfig.endpoint = "tcp://127.0.0.1:*"
        configureBroker(&brokerConfig)
        var logger = Logger(label: "test.broker")
        logger.logLevel = .warning
        let broker = Broker(config: brokerConfig, logger: logger)
        let endpoints = try await broker.start()
        let address = BrokerAddress(endpoint: endpoints.requests, publicKey: brokerKeys.publicKey)

        var serverConfig = BusServerTransport.Config(brokers: [address], keyPair: serverKeys)
        serverConfig.sessionsPerBroker = sessionsPerBroker
        serverConfig.instanceName = "test-server-1"
        serverConfig.shutdownGracePeriod = .milliseconds(200)
        let server = GRPCServer(
            transport: try BusServerTransport(config: serverConfig, logger: logger), services: services)
        var clientConfig = BusClientTransport.Config(brokers: [address], keyPair: clientKeys)
        configureClient(&clientConfig)
        let transport = try BusClientTransport(config: clientConfig, logger: logger)

        defer { broker.beginGracefulShutdown() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let result = try await withGRPCClient(transport: transport) { client in
                try await body(client, server)
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }
}
