import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import ServiceRuntime
import ZeroMQ

/// `contactpoint-echo`: serves the diagnostic Echo service and gRPC health over the bus.
@main
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-echo",
        abstract: "Serve the diagnostic echo service over the ContactPoint bus.")

    @Option(name: .customLong("broker"), help: "A broker as ENDPOINT,PUBLIC-KEY-FILE; repeat for each broker.")
    var brokers: [String]
    @Option(help: "This process's CURVE key pair file.")
    var keyFile: String
    @Option(help: "The instance name reported in responses and logs.")
    var instance = "echo"
    @Option(help: "Concurrent calls accepted per broker.")
    var sessions = 8
    @Option(help: "Milliseconds between heartbeats to each broker.")
    var heartbeatMillis = 1000
    @Option(help: "Log level.")
    var logLevel: Logger.Level = .notice

    func run() async throws {
        LoggingSystem.bootstrapStandardError(level: logLevel)
        let logger = Logger(label: "contactpoint-echo")
        var config = BusServerTransport.Config(
            brokers: try brokers.map(BrokerAddress.init(argument:)), keyPair: try KeyFile.readKeyPair(at: keyFile))
        config.sessionsPerBroker = sessions
        config.heartbeatInterval = .milliseconds(heartbeatMillis)
        config.instanceName = instance

        let health = HealthService()
        let server = GRPCServer(
            transport: try BusServerTransport(config: config, logger: logger),
            services: [EchoService(instance: instance), health])
        health.setStatus(.serving)
        health.setStatus(.serving, forService: Contactpoint_V1_Echo.descriptor.fullyQualifiedService)
        let group = ServiceGroup(
            configuration: .init(
                services: [GRPCServerService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
