import ArgumentParser
import BusTransport
import Foundation
import GRPCCore
import Hummingbird
import Logging
import Portal
import ServiceRuntime

/// `contactpoint-portal`: the web portal practitioners use in a browser.
@main
struct PortalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-portal",
        abstract: "Serve the ContactPoint web portal over HTTPS: the services' RPCs, with the practitioner's session.",
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own keys are listen-host, listen-port, certificate, private-key, create-certificate, secrets-dir, \
            origin and session-idle-timeout (as identity's).
            """)

    @OptionGroup var service: ServiceOptions

    func run() async throws {
        let shared: ServiceSettings
        let settings: PortalSettings
        do {
            var reader = try ConfigurationReader(executable: "contactpoint-portal", file: service.config)
            shared = try ServiceSettings(reading: &reader, options: service, service: "portal")
            settings = try PortalSettings(reading: &reader)
            try reader.rejectUnknownKeys()
            if service.printConfig {
                ServiceMain.printSettings(reader.effectiveSettings)
                return
            }
        } catch {
            ServiceMain.exitOnConfigurationError(error, executable: "contactpoint-portal")
        }
        LoggingSystem.bootstrapStandardError(level: shared.logLevel)
        var logger = Logger(label: "contactpoint-portal")
        logger[metadataKey: "instance"] = "\(shared.instance)"

        var transport = BusClientTransport.Config(brokers: shared.brokers, keyPair: shared.keyPair)
        transport.retryUnavailable(methods: PortalCalls.retryable)
        let client = GRPCClient(transport: try BusClientTransport(config: transport, logger: logger))
        let origin = settings.origin
        let announcer = logger
        let application = try await PortalServer.makeApplication(settings: settings, client: client, logger: logger) {
            port in
            announcer.notice("serving", metadata: ["port": "\(port)", "origin": "\(origin)"])
        }
        try await application.runService()
    }
}
