import Authentication
import ConsentClient
import ContactPointAPI
import Foundation
import GRPCCore
public import Logging
import ServiceLifecycle
public import ServiceRuntime
import Timekeeping

/// Everything `contactpoint-notification` runs, built from its settings: the store, a client of
/// the consent service, the RPCs behind session checking, the escalator and the audit forwarder.
public enum NotificationServer {
    public struct Settings: Sendable {
        public var database: String
        /// The bus principals that deliver change events: the index's.
        public var feeders: [String]
        /// The bus principals that deliver security notices: the identity service's.
        public var noticeFeeders: [String]
        /// Agency gateways: bus principal → organisation id.
        public var gateways: [String: String]
        public var escalateAfter: Duration
        public var escalationInterval: Duration
        public var subscriptionLifetime: Duration

        public struct Flags: Sendable {
            public var database: String?
            public init(database: String?) { self.database = database }
        }

        /// Reads the notification service's own keys (docs/CONFIGURATION.md).
        public init(reading reader: inout ConfigurationReader, flags: Flags) throws(ConfigurationError) {
            database = try reader.value(
                "database", flag: flags.database, default: "notification.sqlite", parse: ConfigurationValue.text)
            feeders = try reader.list("feeder", flags: [], default: ["index"], parse: ConfigurationValue.text)
            noticeFeeders = try reader.list(
                "notice-feeder", flags: [], default: ["identity"], parse: ConfigurationValue.text)
            let pairs = try reader.list(
                "gateway", flags: [], default: [],
                parse: { text throws(ConfigurationError.Problem) -> (String, String) in
                    let parts = text.split(separator: "=", omittingEmptySubsequences: false)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                        throw .init(
                            "`\(text)` is not a gateway",
                            fix: "write PRINCIPAL=ORGANISATION-ID, e.g. riverside-gateway=org-7")
                    }
                    return (String(parts[0]), String(parts[1]))
                })
            gateways = Dictionary(pairs, uniquingKeysWith: { _, last in last })
            escalateAfter = try reader.value(
                "escalate-after", flag: nil, default: .seconds(24 * 3600), parse: ConfigurationValue.duration)
            escalationInterval = try reader.value(
                "escalation-interval", flag: nil, default: .seconds(60), parse: ConfigurationValue.duration)
            subscriptionLifetime = try reader.value(
                "subscription-lifetime", flag: nil, default: .seconds(300), parse: ConfigurationValue.duration)
        }
    }

    public static func makeService(
        settings: Settings, shared: ServiceSettings, client: ServiceBusClient, logger: Logger
    ) async throws
        -> BusService
    {
        let store = try NotificationStore.open(path: settings.database)
        let trust = SessionTrust()
        logger.notice(
            "notification ready",
            metadata: [
                "notification.database": "\(settings.database)",
                "notification.gateways": "\(settings.gateways.keys.sorted().joined(separator: ","))",
            ])
        let registeredGateways = GatewayRoster()
        var service = makeService(
            settings: settings, store: store, trust: trust, registeredGateways: registeredGateways,
            consent: ConsentServiceClient(client: client, logger: logger),
            // A follower holds a worker session: keep some of each broker's free for deliveries and reads.
            hub: AlertHub(capacity: max(1, shared.sessionsPerBroker - 4)), clock: .system, logger: logger)
        service.companions += [
            trust.refresher(client: client, logger: logger),
            registeredGateways.follower(client: client, logger: logger),
            AuditForwarder(outbox: store.outboxes, client: client, instance: shared.instance, logger: logger),
        ]
        return service
    }

    /// The service on `store` without the companions that reach other services over the bus (the
    /// session keys' refresher, the audit forwarder): what the tests serve in process.
    static func makeService(
        settings: Settings, store: NotificationStore, trust: SessionTrust,
        registeredGateways: GatewayRoster = GatewayRoster(), consent: any ConsentDecisions, hub: AlertHub,
        clock: WallClock, logger: Logger
    ) -> BusService {
        let reads = store.outboxes.accessEventCommitter(name: "notify-reads", maximumBatch: 1024)
        return BusService(
            rpcServices: [
                NotificationRPCService(
                    store: store, reads: reads, consent: consent, hub: hub, feeders: Set(settings.feeders),
                    noticeFeeders: Set(settings.noticeFeeders), gateways: settings.gateways,
                    registeredGateways: registeredGateways, sessions: trust.verifier,
                    subscriptionLifetime: settings.subscriptionLifetime, clock: clock)
            ],
            interceptors: [
                trust.interceptor(
                    publicMethods: NotificationRPCService.publicMethods,
                    sessionOptionalMethods: NotificationRPCService.sessionOptionalMethods)
            ],
            readinessChecks: [{ await store.isAvailable() }],
            companions: [
                reads, hub,
                Escalator(
                    store: store, hub: hub, after: settings.escalateAfter, interval: settings.escalationInterval,
                    clock: clock, logger: logger),
            ])
    }
}
