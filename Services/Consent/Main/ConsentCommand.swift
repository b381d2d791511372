import ArgumentParser
import Consent
import ServiceRuntime

/// `contactpoint-consent`: consents for sensitive services, their withdrawal, and named-person overrides.
@main
struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-consent",
        abstract:
            """
            Serve consent: consents for sensitive services, withdrawals and named-person overrides, and the \
            decisions they make.
            """,
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own keys are database, checker and involvement-recorder.
            """)

    @OptionGroup var service: ServiceOptions
    @Option(help: "The SQLite database file (default consent.sqlite).")
    var database: String?

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-consent", service: "consent", options: service,
            readSettings: { reader throws(ConfigurationError) in
                try ConsentServer.Settings(reading: &reader, flags: .init(database: database))
            },
            makeService: { shared, settings, client, logger in
                try await ConsentServer.makeService(settings: settings, shared: shared, client: client, logger: logger)
            })
    }
}
