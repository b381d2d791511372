import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
public import Logging
import ServiceLifecycle
public import ServiceRuntime
import Timekeeping

/// Everything `contactpoint-consent` runs, built from its settings: the store, a client of the
/// index (for a child's standing), the audit forwarder that empties the outbox, and the RPCs
/// behind session checking.
public enum ConsentServer {
    public struct Settings: Sendable {
        public var database: String
        /// The bus principals that may ask for decisions: the index's and the notification service's.
        public var checkers: [String]
        /// The bus principals that may record a consent with a practitioner's involvement: the index's.
        public var involvementRecorders: [String]

        public struct Flags: Sendable {
            public var database: String?
            public init(database: String?) { self.database = database }
        }

        /// Reads the consent service's own keys (docs/CONFIGURATION.md).
        public init(reading reader: inout ConfigurationReader, flags: Flags) throws(ConfigurationError) {
            database = try reader.value(
                "database", flag: flags.database, default: "consent.sqlite", parse: ConfigurationValue.text)
            checkers = try reader.list(
                "checker", flags: [], default: ["index", "notification"], parse: ConfigurationValue.text)
            involvementRecorders = try reader.list(
                "involvement-recorder", flags: [], default: ["index"], parse: ConfigurationValue.text)
        }
    }

    public static func makeService(
        settings: Settings, shared: ServiceSettings, client: ServiceBusClient, logger: Logger
    ) async throws
        -> BusService
    {
        let store = try ConsentStore.open(path: settings.database)
        let trust = SessionTrust()
        logger.notice(
            "consent ready",
            metadata: [
                "consent.database": "\(settings.database)",
                "consent.checkers": "\(settings.checkers.joined(separator: ","))",
            ])
        var service = makeService(
            settings: settings, store: store, trust: trust, standings: IndexChildStandings(client: client),
            clock: .system)
        service.companions += [
            trust.refresher(client: client, logger: logger),
            AuditForwarder(outbox: store.outboxes, client: client, instance: shared.instance, logger: logger),
        ]
        return service
    }

    /// The service on `store` without the companions that reach other services over the bus (the
    /// session keys' refresher, the audit forwarder): what the tests serve in process.
    static func makeService(
        settings: Settings, store: ConsentStore, trust: SessionTrust, standings: any ChildStandings, clock: WallClock
    ) -> BusService {
        let disclosures = store.outboxes.accessEventCommitter(name: "consent-disclose")
        return BusService(
            rpcServices: [
                ConsentRPCService(
                    store: store, disclosures: disclosures, standings: standings, checkers: Set(settings.checkers),
                    involvementRecorders: Set(settings.involvementRecorders), clock: clock)
            ],
            interceptors: [
                trust.interceptor(publicMethods: ConsentRPCService.publicMethods),
                IdempotencyInterceptor(),
            ],
            readinessChecks: [{ await store.isAvailable() }],
            companions: [disclosures])
    }
}
