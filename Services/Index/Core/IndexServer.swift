import Authentication
import ConsentClient
import ContactPointAPI
import Foundation
import GRPCCore
public import Logging
import ServiceLifecycle
public import ServiceRuntime
import Timekeeping

/// Everything `contactpoint-index` runs, built from its settings: the store, the group commit of
/// access events, the audit forwarder that empties the outbox, and the RPCs behind session checking.
public enum IndexServer {
    public struct Settings: Sendable {
        public var database: String
        /// On an empty index, load this many synthetic children of the demo world (`contactpoint up --demo`).
        public var demoChildren: Int
        /// The bus principals that may ask for a child's standing: the consent service's.
        public var standingReaders: [String]

        public struct Flags: Sendable {
            public var database: String?
            public init(database: String?) { self.database = database }
        }

        /// Reads the index service's own keys (docs/CONFIGURATION.md).
        public init(reading reader: inout ConfigurationReader, flags: Flags) throws(ConfigurationError) {
            database = try reader.value(
                "database", flag: flags.database, default: "index.sqlite", parse: ConfigurationValue.text)
            demoChildren = try reader.value(
                "demo-children", flag: nil, default: 0, parse: ConfigurationValue.integer(in: 0...1_000_000))
            standingReaders = try reader.list(
                "standing-reader", flags: [], default: ["consent", "audit"], parse: ConfigurationValue.text)
        }
    }

    public static func makeService(
        settings: Settings, shared: ServiceSettings, client: ServiceBusClient, logger: Logger
    ) async throws
        -> BusService
    {
        let store = try IndexStore.open(path: settings.database)
        let clock = WallClock.system
        if settings.demoChildren > 0 {
            let loaded = try await store.seedDemoWorld(children: settings.demoChildren, now: clock.now.milliseconds)
            if loaded > 0 {
                logger.notice("demo world: synthetic children loaded", metadata: ["index.children": "\(loaded)"])
            }
        }
        let trust = SessionTrust()
        logger.notice("index ready", metadata: ["index.database": "\(settings.database)"])
        var service = makeService(
            settings: settings, store: store, trust: trust,
            consent: ConsentServiceClient(client: client, logger: logger), clock: clock)
        service.companions += [
            trust.refresher(client: client, logger: logger),
            AuditForwarder(outbox: store.outboxes, client: client, instance: shared.instance, logger: logger),
            ChangeForwarder(store: store, client: client, logger: logger),
        ]
        return service
    }

    /// The service on `store` without the companions that reach other services over the bus (the
    /// session keys' refresher, the audit and change forwarders): what the tests serve in process.
    static func makeService(
        settings: Settings, store: IndexStore, trust: SessionTrust, consent: any ConsentDecisions, clock: WallClock
    ) -> BusService {
        let disclosures = store.outboxes.accessEventCommitter(name: "index-disclose")
        return BusService(
            rpcServices: [
                IndexRPCService(
                    store: store, disclosures: disclosures, consent: consent, nicknames: .standard,
                    standingReaders: Set(settings.standingReaders), clock: clock)
            ],
            interceptors: [
                trust.interceptor(publicMethods: IndexRPCService.publicMethods),
                IdempotencyInterceptor(),
            ],
            readinessChecks: [{ await store.isAvailable() }],
            companions: [disclosures])
    }
}
