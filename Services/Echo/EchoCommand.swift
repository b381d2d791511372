import ArgumentParser
import ServiceRuntime

/// `contactpoint-echo`: serves the diagnostic Echo service and gRPC health over the bus.
@main
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-echo",
        abstract: "Serve the diagnostic echo service over the ContactPoint bus.",
        discussion: "Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md).")

    @OptionGroup var service: ServiceOptions
    @Option(help: "Require a practitioner's session on every call: true or false (default false).")
    var requireSession: String?

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-echo", service: "echo", options: service,
            readSettings: { reader throws(ConfigurationError) in
                // Diagnostics answer anyone on the bus unless told to check sessions like every
                // other service: then a call needs a practitioner's session token.
                try reader.value(
                    "require-session", flag: requireSession, default: false, parse: ConfigurationValue.boolean)
            },
            makeService: { settings, requireSession, client, logger in
                guard requireSession else { return BusService(rpcServices: [EchoService(instance: settings.instance)]) }
                let trust = SessionTrust()
                return BusService(
                    rpcServices: [EchoService(instance: settings.instance)], interceptors: [trust.interceptor()],
                    companions: [trust.refresher(client: client, logger: logger)])
            })
    }
}
