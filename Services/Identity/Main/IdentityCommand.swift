import ArgumentParser
import Identity
import ServiceRuntime

/// `contactpoint-identity`: vetted practitioners, password + TOTP login, session tokens.
@main
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactpoint-identity",
        abstract: "Serve the identity service: login with password and TOTP, session tokens, enrolment.",
        discussion: """
            Settings come from flags, CONTACTPOINT_* variables or a --config file (docs/CONFIGURATION.md); \
            its own keys are database, secrets-dir, bootstrap-admin, demo-world and breached-passwords.
            """)

    @OptionGroup var service: ServiceOptions
    @Option(help: "The SQLite database file (default identity.sqlite).")
    var database: String?
    @Option(help: "The directory of the pepper, TOTP key and signing keys (default identity-secrets).")
    var secretsDir: String?
    @Option(help: "On an empty database, create the first system administrator with this email.")
    var bootstrapAdmin: String?

    func run() async throws {
        try await ServiceMain.run(
            executable: "contactpoint-identity", service: "identity", options: service,
            readSettings: { reader throws(ConfigurationError) in
                try IdentityServer.Settings(
                    reading: &reader,
                    flags: .init(
                        database: database, secretsDirectory: secretsDir, bootstrapAdministrator: bootstrapAdmin))
            },
            makeService: { shared, settings, client, logger in
                try await IdentityServer.makeService(settings: settings, shared: shared, client: client, logger: logger)
            })
    }
}
