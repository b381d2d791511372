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

    @OptionGroup var bus: BusPeerOptions
    @Option(help: "The instance name reported in responses and logs.")
    var instance = "echo"
    @Option(help: "Concurrent calls accepted per broker.")
    var sessions = 8
    @Option(help: "Milliseconds between heartbeats to each broker.")
    var heartbeatMillis = 1000
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "contactpoint-echo")
        var config = BusServerTransport.Config(brokers: try bus.brokerAddresses(), keyPair: try bus.keyPair())
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
