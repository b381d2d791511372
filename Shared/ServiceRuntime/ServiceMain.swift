import ArgumentParser
import Foundation
public import Logging
import Prometheus

/// The body of every service executable's `run()`: read the configuration, then build and run
/// the service on the bus until it is told to stop.
///
/// A configuration error is printed as one line on standard error and exits with status 78
/// (EX_CONFIG); `--print-config` prints the settings in force and exits.
public enum ServiceMain {
    /// - Parameters:
    ///   - readSettings: reads the executable's own keys (after the shared ones).
    ///   - makeService: builds the service from its settings (opening its database, say) and the
    ///     process's one bus client (``ServiceBusClient``), for every call it makes to others.
    public static func run<Settings: Sendable>(
        executable: String, service: String, options: ServiceOptions,
        readSettings: (inout ConfigurationReader) throws(ConfigurationError) -> Settings,
        makeService: (ServiceSettings, Settings, ServiceBusClient, Logger) async throws -> BusService
    ) async throws {
        let shared: ServiceSettings
        let own: Settings
        do {
            var reader = try ConfigurationReader(executable: executable, file: options.config)
            shared = try ServiceSettings(reading: &reader, options: options, service: service)
            own = try readSettings(&reader)
            try reader.rejectUnknownKeys()
            if options.printConfig {
                printSettings(reader.effectiveSettings)
                return
            }
        } catch {
            exitOnConfigurationError(error, executable: executable)
        }

        LoggingSystem.bootstrapStandardError(level: shared.logLevel)
        var logger = Logger(label: executable)
        logger[metadataKey: "instance"] = "\(shared.instance)"
        let registry = shared.metrics == nil ? nil : PrometheusCollectorRegistry()
        let client = try shared.makeBusClient(logger: logger)
        let busService = try await makeService(shared, own, client, logger)
        let group = try busService.serviceGroup(
            settings: shared, client: client, health: HealthService(), metricsRegistry: registry, logger: logger)
        logger.notice("serving", metadata: ["bus.brokers": "\(shared.brokers.map(\.endpoint))"])
        try await group.run()
        logger.notice("stopped")
    }

    /// Prints `key = value  # source` lines: the file format, so the output can be saved as one.
    public static func printSettings(_ settings: [ConfigurationReader.Setting]) {
        for setting in settings { print("\(setting.key) = \(setting.value)  # \(setting.source)") }
    }

    /// Prints the error as one line and exits with EX_CONFIG.
    public static func exitOnConfigurationError(_ error: ConfigurationError, executable: String) -> Never {
        FileHandle.standardError.write(Data("\(executable): \(error)\n".utf8))
        exit(78)
    }
}
