import ArgumentParser
import Audit
import ServiceRuntime

/// `contactpoint-audit`: the tamper-evident audit trail, misuse rules and review.
@main
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-audit",
        abstract:
            """
            Serve the audit service: the signed, tamper-evident log of access, misuse rules, review and subject \
            access.
            """,
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own keys are database, secrets-dir, checkpoint-dir, sender, checkpoint-interval, working-hours, \
            working-hours-zone and the rule-* keys.
            """)

    @OptionGroup var service: ServiceOptions
    @Option(help: "The SQLite database file (default audit.sqlite).")
    var database: String?
    @Option(help: "The directory of the tree-head signing key (default audit-secrets).")
    var secretsDir: String?
    @Option(help: "Where signed tree heads are exported as checkpoint files (default audit-checkpoints).")
    var checkpointDir: String?
    @Option(help: "A bus principal that may append events; repeat for each (default: the ContactPoint services).")
    var sender: [String] = []

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-audit", service: "audit", options: service,
            readSettings: { reader throws(ConfigurationError) in
                try AuditServer.Settings(
                    reading: &reader,
                    flags: .init(
                        database: database, secretsDirectory: secretsDir, checkpointDirectory: checkpointDir,
                        senders: sender))
            },
            makeService: { shared, settings, client, logger in
                try await AuditServer.makeService(settings: settings, shared: shared, client: client, logger: logger)
            })
    }
}
