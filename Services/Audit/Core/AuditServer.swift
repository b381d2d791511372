import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
public import Logging
import ServiceLifecycle
public import ServiceRuntime
import Timekeeping

/// Everything `contactpoint-audit` runs, built from its settings: the log and its committer, the
/// tree-head signer, the RPCs behind session checking, and a client of the identity service for
/// suspensions decided in review.
public enum AuditServer {
    public struct Settings: Sendable {
        public var database: String
        public var secretsDirectory: String
        public var checkpointDirectory: String
        public var senders: [String]
        public var checkpointInterval: Duration
        public var checkpointExportInterval: Duration
        public var rules: MisuseRules

        public struct Flags: Sendable {
            public var database: String?
            public var secretsDirectory: String?
            public var checkpointDirectory: String?
            public var senders: [String]

            public init(database: String?, secretsDirectory: String?, checkpointDirectory: String?, senders: [String]) {
                self.database = database
                self.secretsDirectory = secretsDirectory
                self.checkpointDirectory = checkpointDirectory
                self.senders = senders
            }
        }

        public static let defaultSenders = ["identity", "index", "consent", "notification", "audit"]

        /// Reads the audit service's own keys (docs/CONFIGURATION.md).
        public init(reading reader: inout ConfigurationReader, flags: Flags) throws(ConfigurationError) {
            database = try reader.value(
                "database", flag: flags.database, default: "audit.sqlite", parse: ConfigurationValue.text)
            secretsDirectory = try reader.value(
                "secrets-dir", flag: flags.secretsDirectory, default: "audit-secrets", parse: ConfigurationValue.text)
            checkpointDirectory = try reader.value(
                "checkpoint-dir", flag: flags.checkpointDirectory, default: "audit-checkpoints",
                parse: ConfigurationValue.text)
            senders = try reader.list(
                "sender", flags: flags.senders, default: Self.defaultSenders, parse: ConfigurationValue.text)
            checkpointInterval = try reader.value(
                "checkpoint-interval", flag: nil, default: .seconds(1), parse: ConfigurationValue.duration)
            checkpointExportInterval = try reader.value(
                "checkpoint-export-interval", flag: nil, default: .seconds(60), parse: ConfigurationValue.duration)
            rules = MisuseRules()
            rules.disclosuresPerHour = try reader.value(
                "rule-disclosures-per-hour", flag: nil, default: rules.disclosuresPerHour,
                parse: ConfigurationValue.integer(in: 1...1_000_000))
            rules.deniedAttempts = try reader.value(
                "rule-denied-attempts", flag: nil, default: rules.deniedAttempts,
                parse: ConfigurationValue.integer(in: 1...10_000))
            // The rules hold the events of their longest window in memory: a day at the most.
            rules.deniedWindow = try reader.value(
                "rule-denied-window", flag: nil, default: rules.deniedWindow,
                parse: ConfigurationValue.duration(in: .seconds(60)...(.seconds(86_400)), named: "1m to 24h"))
            // The default is looked up too: without the tz database London is unknown, and the service must not guess.
            var zone = try ConfigurationValue.parsing("working-hours-zone", "Europe/London", AuditServer.timeZone)
            if let given = try reader.optionalValue("working-hours-zone", flag: nil, parse: AuditServer.timeZone) {
                zone = given
            }
            rules.workingHours = try reader.value(
                "working-hours", flag: nil, default: MisuseRules.WorkingHours(parsing: "08:00-18:00", timeZone: zone)!,
                parse: { text throws(ConfigurationError.Problem) in
                    guard let hours = MisuseRules.WorkingHours(parsing: text, timeZone: zone) else {
                        throw .init(
                            "`\(text)` is not a span of working hours",
                            fix: "write HH:MM-HH:MM, start before end, e.g. 08:00-18:00")
                    }
                    return hours
                })
        }
    }

    static func timeZone(_ text: String) throws(ConfigurationError.Problem) -> TimeZone {
        guard let zone = TimeZone(identifier: text) else {
            throw .init(
                "`\(text)` is not a known time zone",
                fix: "give an IANA name such as Europe/London (Debian: apt-get install tzdata)")
        }
        return zone
    }

    public static func makeService(
        settings: Settings, shared: ServiceSettings, client: ServiceBusClient, logger: Logger
    ) async throws
        -> BusService
    {
        let store = try AuditStore.open(path: settings.database, logger: logger)
        let key = try TreeHeadKey.load(directory: settings.secretsDirectory)
        let clock = WallClock.system
        let log = AuditLog(store: store, rules: settings.rules, clock: clock)
        let signer = TreeHeadSigner(
            store: store, key: key, checkpoints: CheckpointDirectory(path: settings.checkpointDirectory),
            interval: settings.checkpointInterval, exportInterval: settings.checkpointExportInterval, clock: clock,
            logger: logger)
        let identity = Contactpoint_V1_IdentityAdmin.Client(wrapping: client)
        let index = Contactpoint_V1_Index.Client(wrapping: client)
        let trust = SessionTrust()
        logger.notice(
            "audit ready",
            metadata: [
                "audit.signing-key": "\(key.keyID)", "audit.senders": "\(settings.senders.joined(separator: ","))",
            ])
        return BusService(
            rpcServices: [
                AuditRPCService(
                    log: log, senders: Set(settings.senders), instance: shared.instance,
                    signingKey: key.privateKey.publicKey,
                    suspendAccount: { practitionerID in
                        _ = try await identity.setAccountStatus(
                            .with {
                                $0.practitionerID = practitionerID
                                $0.status = "suspended"
                            })
                    },
                    childShielded: { childID in
                        // ChildStanding also says whether an organisation is involved, so it
                        // takes one; the audit service asks about none, and reads only `shielded`.
                        do {
                            return try await index.childStanding(
                                .with {
                                    $0.childID = childID
                                    $0.organisationID = "audit"
                                }
                            ).shielded
                        } catch let error as RPCError where error.code == .notFound {
                            return false
                        }
                    })
            ],
            interceptors: [trust.interceptor(publicMethods: AuditRPCService.publicMethods)],
            readinessChecks: [{ await store.isAvailable() }],
            companions: [
                trust.refresher(client: client, logger: logger), signer,
                log,
            ])
    }
}
