import ArgumentParser
import Broker
import Foundation
import Logging
import ServiceLifecycle
import ServiceRuntime
import ZeroMQ

/// `contactpoint-broker`: one MDP/0.2 broker of the ContactPoint bus.
///
/// On start it prints one JSON line with the endpoints it bound (so `tcp://127.0.0.1:*` reports
/// the chosen ports), then routes until SIGTERM or SIGINT.
@main
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-broker",
        abstract: "Run a ContactPoint bus broker (MDP/0.2 over CURVE-secured ZeroMQ).")

    @Option(help: "Endpoint clients and workers connect to.")
    var endpoint = "tcp://*:5555"
    @Option(help: "Endpoint event publishers connect to (XSUB).")
    var eventsIn = "tcp://*:5556"
    @Option(help: "Endpoint event subscribers connect to (XPUB).")
    var eventsOut = "tcp://*:5557"
    @Option(help: "The broker's CURVE key pair file (see `contactpoint keys generate`).")
    var keyFile: String
    @Option(help: "The allow-list file: `principal public-key [services]` per line.")
    var allowList: String
    @Option(help: "Milliseconds between heartbeats to workers.")
    var heartbeatMillis = 1000
    @Option(help: "Missed heartbeats before a worker is purged.")
    var heartbeatLiveness = 3
    @Option(help: "Requests a service may have queued before RESOURCE_EXHAUSTED.")
    var maxQueue = 1024
    @Option(help: "Largest message accepted, in bytes; larger ones drop the sender's connection.")
    var maxMessageBytes: Int64 = 8 << 20
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "contactpoint-broker")
        var config = Broker.Config(
            keyPair: try KeyFile.readKeyPair(at: keyFile),
            allowList: try AllowList(contentsOf: allowList))
        config.endpoint = endpoint
        config.eventsInEndpoint = eventsIn
        config.eventsOutEndpoint = eventsOut
        config.maxMessageBytes = maxMessageBytes
        config.routing.heartbeatInterval = .milliseconds(heartbeatMillis)
        config.routing.heartbeatLiveness = heartbeatLiveness
        config.routing.maxQueuedPerService = maxQueue

        let broker = Broker(config: config, logger: logger)
        let endpoints = try await broker.start()
        FileHandle.standardOutput.write(try JSONEncoder().encode(endpoints) + Data("\n".utf8))
        let group = ServiceGroup(
            configuration: .init(services: [broker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
