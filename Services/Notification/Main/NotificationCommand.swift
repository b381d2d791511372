import ArgumentParser
import Notification
import ServiceRuntime

/// `contactpoint-notification`: alerts to the other agencies involved when one flags involvement.
@main
struct NotificationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-notification",
        abstract:
            """
            Serve notification: alert every other involved agency when one records involvement, raises an \
            indicator or becomes lead professional.
            """,
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own keys are database, feeder, gateway, escalate-after, escalation-interval and subscription-lifetime.
            """)

    @OptionGroup var service: ServiceOptions
    @Option(help: "The SQLite database file (default notification.sqlite).")
    var database: String?

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-notification", service: "notification", options: service,
            readSettings: { reader throws(ConfigurationError) in
                try NotificationServer.Settings(reading: &reader, flags: .init(database: database))
            },
            makeService: { shared, settings, client, logger in
                try await NotificationServer.makeService(
                    settings: settings, shared: shared, client: client, logger: logger)
            })
    }
}
