import Authentication
import Foundation
public import Logging
import SecurityPrimitives
import ServiceLifecycle
public import ServiceRuntime
import WebAuthn

/// Everything `contactpoint-identity` runs, built from its settings: the store, the secrets,
/// the authenticator and the RPC service behind the authentication interceptor.
public enum IdentityServer {
    public struct Settings: Sendable {
        public var database: String
        public var secretsDirectory: String
        /// On an empty system, create the first administrator with this email.
        public var bootstrapAdministrator: String?
        /// Create the demo world's organisations and accounts if they do not exist (`contactpoint up --demo`).
        public var demoWorld: Bool
        /// The breached-password corpus new passwords are checked against, if the deployment has one.
        var breachedPasswords: BreachedPasswords?
        /// How long a session lasts without use (each refresh starts it again, up to 12 hours).
        public var sessionIdleTimeout: Duration = .seconds(15 * 60)
        /// The bus principals that may read the gateways in force: the brokers, which admit them, and
        /// the notification service, which serves them their organisation's alerts.
        public var gatewayReaders: [String] = []
        /// Passkeys: the relying party id (the portal's host name) and the origins the portal is
        /// served from; assertions from any other are refused.
        public var passkeyRelyingPartyID = "localhost"
        public var passkeyOrigins = ["https://localhost:8443"]

        /// The identity service's own command-line flags, as given (text, parsed with the rest).
        public struct Flags: Sendable {
            public var database: String?
            public var secretsDirectory: String?
            public var bootstrapAdministrator: String?

            public init(database: String?, secretsDirectory: String?, bootstrapAdministrator: String?) {
                self.database = database
                self.secretsDirectory = secretsDirectory
                self.bootstrapAdministrator = bootstrapAdministrator
            }
        }

        /// Reads the identity service's own keys (docs/CONFIGURATION.md).
        public init(reading reader: inout ConfigurationReader, flags: Flags) throws(ConfigurationError) {
            database = try reader.value(
                "database", flag: flags.database, default: "identity.sqlite", parse: ConfigurationValue.text)
            secretsDirectory = try reader.value(
                "secrets-dir", flag: flags.secretsDirectory, default: "identity-secrets", parse: ConfigurationValue.text
            )
            bootstrapAdministrator = try reader.optionalValue(
                "bootstrap-admin", flag: flags.bootstrapAdministrator, parse: ConfigurationValue.email)
            demoWorld = try reader.value("demo-world", flag: nil, default: false, parse: ConfigurationValue.boolean)
            sessionIdleTimeout = try reader.value(
                "session-idle-timeout", flag: nil, default: sessionIdleTimeout,
                parse: ConfigurationValue.duration(in: .seconds(1)...(.seconds(12 * 3600)), named: "1s to 12h"))
            passkeyRelyingPartyID = try reader.value(
                "passkey-relying-party-id", flag: nil, default: passkeyRelyingPartyID, parse: ConfigurationValue.text)
            passkeyOrigins = try reader.list(
                "passkey-origin", flags: [], default: passkeyOrigins, parse: ConfigurationValue.text)
            gatewayReaders = try reader.list(
                "gateway-reader", flags: [], default: (1...9).map { "broker-\($0)" } + ["notification"],
                parse: ConfigurationValue.text)
            breachedPasswords = try reader.optionalValue("breached-passwords", flag: nil) {
                path throws(ConfigurationError.Problem) in
                do throws(BreachedPasswords.Problem) {
                    return try BreachedPasswords(path: path)
                } catch {
                    throw .init(
                        error.description, fix: "give a Pwned Passwords SHA-1 file ordered by hash (docs/SECURITY.md)")
                }
            }
        }
    }

    /// Opens the database and secrets (creating them on first start) and builds the service.
    /// A one-time enrolment code for a bootstrapped administrator is printed on standard output,
    /// once: it is never logged.
    public static func makeService(
        settings: Settings, shared: ServiceSettings, client: ServiceBusClient, logger: Logger
    ) async throws
        -> BusService
    {
        let store = try IdentityStore.open(path: settings.database)
        let secrets = try IdentitySecrets.load(directory: settings.secretsDirectory)
        var policy = IdentityPolicy()
        policy.passwords.breached = settings.breachedPasswords
        policy.idleTimeout = settings.sessionIdleTimeout.components.seconds
        if let breached = settings.breachedPasswords {
            logger.notice(
                "new passwords are checked against the breached-password corpus",
                metadata: ["identity.breached-passwords": "\(breached.path)"])
        } else {
            logger.notice(
                """
                no breached-passwords setting: new passwords are checked against the common-password list only \
                (docs/SECURITY.md)
                """
            )
        }
        var authenticator = Authenticator(
            store: store, passwords: PasswordHasher(pepper: secrets.pepper), secrets: SecretBox(key: secrets.totpKey),
            keys: secrets.signingKeys, policy: policy, clock: .system)
        authenticator.passkeyVerifier = WebAuthnVerifier(
            relyingPartyID: settings.passkeyRelyingPartyID, origins: Set(settings.passkeyOrigins))
        if let email = settings.bootstrapAdministrator,
            let code = try await authenticator.bootstrapAdministrator(email: email)
        {
            FileHandle.standardOutput.write(
                Data(
                    """
                    first administrator created: enrol with `contactpoint enrol --email \(email) --code \(code)` \
                    (shown once)\n
                    """
                    .utf8))
        }
        if settings.demoWorld, let credentials = try await authenticator.createDemoWorld() {
            var text =
                """
                demo world created: log in as any of these (shown once; `contactpoint code --secret SECRET` shows \
                a current code)\n
                """
            for credential in credentials {
                text +=
                    "  \(credential.email)  password: \"\(credential.password)\"  TOTP secret: \(credential.totpSecret)  "
                    + "(\(credential.organisation); \(credential.roles.joined(separator: ", ")))\n"
            }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        let verifier = SessionVerifier()
        verifier.trust(keys: secrets.signingKeys.published)
        logger.notice("identity ready", metadata: ["identity.signing-key": "\(secrets.signingKeys.currentID)"])
        let companions: [any Service] = [
            EndedSessionFeed(store: store, verifier: verifier, logger: logger),
            AuditForwarder(outbox: store.outboxes, client: client, instance: shared.instance, logger: logger),
            NoticeForwarder(store: store, client: client, logger: logger),
            VettingWatch(store: store, clock: authenticator.clock, logger: logger),
        ]
        return BusService(
            rpcServices: [
                IdentityRPCService(authenticator: authenticator, gatewayReaders: Set(settings.gatewayReaders)),
                IdentityAdminRPCService(authenticator: authenticator),
            ],
            interceptors: [
                AuthenticationInterceptor(verifier: verifier, publicMethods: IdentityRPCService.publicMethods)
            ],
            readinessChecks: [{ await store.isAvailable() }],
            companions: companions)
    }
}
