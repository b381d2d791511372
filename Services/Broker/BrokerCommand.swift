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
        abstract: "Run a ContactPoint bus broker (MDP/0.2 over CURVE-secured ZeroMQ).",
        discussion: "Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md).")

    @Option(help: "A configuration file of `key = value` lines; flags and CONTACTPOINT_* variables override it.")
    var config: String?
    @Flag(help: "Print the configuration in force and exit.")
    var printConfig = false
    @Option(help: "Endpoint clients and workers connect to (default tcp://*:5555).")
    var endpoint: String?
    @Option(help: "The broker's CURVE key pair file (see `contactpoint keys generate`).")
    var keyFile: String?
    @Option(help: "The allow-list file: `principal public-key [services]` per line.")
    var allowList: String?
    @Option(help: "Interval between heartbeats to workers, e.g. 1s or 200ms (default 1s).")
    var heartbeat: String?
    @Option(help: "Missed heartbeats before a worker is purged (default 3).")
    var heartbeatLiveness: String?
    @Option(help: "Requests a service may have queued before RESOURCE_EXHAUSTED (default 1024).")
    var maxQueue: String?
    @Option(help: "Of those, requests one principal may have queued (default 256).")
    var maxQueuePerPrincipal: String?
    @Option(help: "Of a principal's, requests one session may have queued (default 64).")
    var maxQueuePerSession: String?
    @Option(help: "Largest message accepted, in bytes; larger ones drop the sender's connection (default 8 MiB).")
    var maxMessageBytes: String?
    @Option(help: "Admit the agency gateways registered in the identity service: true or false (default false).")
    var gatewayRegistry: String?
    @Option(help: "How often the gateway registry is read again, e.g. 2s (default 2s).")
    var gatewayRefresh: String?
    @Option(help: "The least severe log level printed (default notice).")
    var logLevel: String?

    func run() async throws {
        let executable = "contactpoint-broker"
        let config: Broker.Config
        let level: Logger.Level
        let registryRefresh: Duration?
        do {
            (config, level, registryRefresh) = try readConfiguration()
        } catch {
            ServiceMain.exitOnConfigurationError(error, executable: executable)
        }
        guard !printConfig else { return }
        LoggingSystem.bootstrapStandardError(level: level)
        let logger = Logger(label: executable)
        let broker = Broker(config: config, logger: logger)
        let endpoints = try await broker.start()
        FileHandle.standardOutput.write(try JSONEncoder().encode(endpoints) + Data("\n".utf8))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let watch = SupervisorWatch() {
            services.append(.init(service: watch, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: broker))
        if let registryRefresh, let admissions = config.gateways {
            let reader = GatewayRegistryReader(
                broker: GatewayRegistryReader.ownAddress(
                    bound: endpoints.requests, publicKey: config.keyPair.publicKey),
                keyPair: config.keyPair, admissions: admissions, interval: registryRefresh, logger: logger)
            services.append(.init(service: reader))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The broker's configuration, its log level, and how often it reads the gateway registry (nil: never).
    private func readConfiguration() throws(ConfigurationError) -> (Broker.Config, Logger.Level, Duration?) {
        var reader = try ConfigurationReader(executable: "contactpoint-broker", file: config)
        let allowListPath = try reader.required(
            "allow-list", flag: allowList, fix: "give the file listing the peers that may connect",
            parse: ConfigurationValue.text)
        let allowList: AllowList
        do {
            allowList = try AllowList(contentsOf: allowListPath)
        } catch {
            throw ConfigurationError(
                key: "allow-list", source: allowListPath, problem: "\(error)",
                fix: "write one `principal public-key [service,…]` per line (docs/OPERATIONS.md)")
        }
        var config = Broker.Config(
            keyPair: try reader.required(
                "key-file", flag: keyFile, fix: "give the broker's .key file", parse: ConfigurationValue.keyPair),
            allowList: allowList)
        config.endpoint = try reader.value(
            "endpoint", flag: endpoint, default: config.endpoint, parse: ConfigurationValue.endpoint)
        config.routing.heartbeatInterval = try reader.value(
            "heartbeat", flag: heartbeat, default: config.routing.heartbeatInterval, parse: ConfigurationValue.duration)
        config.routing.heartbeatLiveness = try reader.value(
            "heartbeat-liveness", flag: heartbeatLiveness, default: config.routing.heartbeatLiveness,
            parse: ConfigurationValue.integer(in: 1...100))
        config.routing.maxQueuedPerService = try reader.value(
            "max-queue", flag: maxQueue, default: config.routing.maxQueuedPerService,
            parse: ConfigurationValue.integer(in: 1...1_000_000))
        config.routing.maxQueuedPerPrincipal = try reader.value(
            "max-queue-per-principal", flag: maxQueuePerPrincipal, default: config.routing.maxQueuedPerPrincipal,
            parse: ConfigurationValue.integer(in: 1...1_000_000))
        config.routing.maxQueuedPerSession = try reader.value(
            "max-queue-per-session", flag: maxQueuePerSession, default: config.routing.maxQueuedPerSession,
            parse: ConfigurationValue.integer(in: 1...1_000_000))
        config.maxMessageBytes = Int64(
            try reader.value(
                "max-message-bytes", flag: maxMessageBytes, default: Int(config.maxMessageBytes),
                parse: ConfigurationValue.integer(in: 1024...(1 << 30))))
        let followsRegistry = try reader.value(
            "gateway-registry", flag: gatewayRegistry, default: false, parse: ConfigurationValue.boolean)
        let refresh = try reader.value(
            "gateway-refresh", flag: gatewayRefresh, default: Duration.seconds(2),
            parse: ConfigurationValue.duration(in: .milliseconds(100)...(.seconds(600)), named: "100ms to 10m"))
        if followsRegistry { config.gateways = GatewayAdmissions() }
        let level = try reader.value(
            "log-level", flag: logLevel, default: Logger.Level.notice, parse: ConfigurationValue.logLevel)
        try reader.rejectUnknownKeys()
        if printConfig { ServiceMain.printSettings(reader.effectiveSettings) }
        return (config, level, followsRegistry ? refresh : nil)
    }
}
