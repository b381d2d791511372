import ArgumentParser
import Index
import ServiceRuntime

/// `contactpoint-index`: the index of children, their carers and the services involved with them.
@main
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-index",
        abstract: "Serve the index: children, carers, involvements and indicators; audited search and view.",
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own key is database.
            """)

    @OptionGroup var service: ServiceOptions
    @Option(help: "The SQLite database file (default index.sqlite).")
    var database: String?

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-index", service: "index", options: service,
            readSettings: { reader throws(ConfigurationError) in
                try IndexServer.Settings(reading: &reader, flags: .init(database: database))
            },
            makeService: { shared, settings, client, logger in
                try await IndexServer.makeService(settings: settings, shared: shared, client: client, logger: logger)
            })
    }
}
