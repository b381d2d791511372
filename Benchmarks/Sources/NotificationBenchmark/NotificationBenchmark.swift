import Authentication
import BenchmarkSupport
import BusTransport
import ConsentClient
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Logging
import Notification
import SecurityPrimitives
import ServiceRuntime
import Synchronization
import Timekeeping
import ZeroMQ

/// Flag → alert at live subscribers, through the whole path: the index's write (its change
/// event in the outbox, in the same transaction), the change forwarder woken at commit, delivery
/// to the notification service over the broker, fan-out into durable alerts, and the push on each
/// subscriber's stream. One child with 10, then 100, involved agencies, each with a practitioner
/// following live; flags one at a time for latency, then as fast as 4 flaggers go for throughput.
///
/// BENCH_FLAGS (default 200), BENCH_SECONDS (default 10), BENCH_AGENCIES (default 10,100).
/// Broker, both services and every subscriber share this process.
@main
struct NotificationBenchmark {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        let flags = Int(environment["BENCH_FLAGS"] ?? "") ?? 200
        let seconds = Int(environment["BENCH_SECONDS"] ?? "") ?? 10
        print(
            "notification benchmark: \(flags) flags one at a time per size, then \(seconds) s of 4 concurrent flaggers")
        let sizes = (environment["BENCH_AGENCIES"] ?? "10,100").split(separator: ",").compactMap { Int($0) }.filter {
            $0 >= 2
        }
        for agencies in sizes {
            try await scenario(agencies: agencies, flags: flags, seconds: seconds)
        }
    }

    static func format(_ duration: Duration) -> String { String(format: "%.2f ms", duration / .milliseconds(1)) }

    static func scenario(agencies: Int, flags: Int, seconds: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "notification-bench-\(getpid())-\(agencies)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let bus = try await LoopbackBroker.start(server: "index", client: "bench-client", logger: logger)
        defer { bus.broker.beginGracefulShutdown() }

        let signingKey = Ed25519.PrivateKey.generate()
        let verifier = SessionVerifier()
        verifier.trust(keys: ["bench": signingKey.publicKey])
        func session(_ id: String, org: String, roles: [String] = ["practitioner"]) throws -> Metadata {
            let now = Int64(Date().timeIntervalSince1970)
            let claims = SessionClaims(
                sub: id, sid: "s-\(id)", org: org, la: "E09000033", roles: roles, iat: now, exp: now + 43_200,
                stepUpAt: now)
            let token = try CompactJWS.sign(
                payload: Array(JSONEncoder().encode(claims)), keyID: "bench", with: signingKey)
            return ["authorization": "Bearer \(token)"]
        }

        let clock = WallClock.system
        let indexStore = try IndexStore.open(path: "\(directory)/index.sqlite")
        let disclosures = indexStore.outboxes.accessEventCommitter(name: "index-disclose")
        let index = IndexRPCService(
            store: indexStore, disclosures: disclosures, consent: NoConsentService(), clock: clock)
        let notificationStore = try NotificationStore.open(path: "\(directory)/notification.sqlite")
        let reads = notificationStore.outboxes.accessEventCommitter(name: "notify-reads", maximumBatch: 1024)
        let hub = AlertHub(capacity: agencies + 8)
        let notification = NotificationRPCService(
            store: notificationStore, reads: reads, consent: NoConsentService(), hub: hub, feeders: ["index"],
            gateways: [:],
            subscriptionLifetime: .seconds(3600), clock: clock)
        var serverConfig = BusServerTransport.Config(brokers: [bus.address], keyPair: bus.serverKeys)
        serverConfig.sessionsPerBroker = agencies + 32
        let server = GRPCServer(
            transport: try BusServerTransport(config: serverConfig, logger: logger), services: [index, notification],
            interceptors: [
                AuthenticationInterceptor(
                    verifier: verifier, publicMethods: NotificationRPCService.publicMethods,
                    sessionOptionalMethods: NotificationRPCService.sessionOptionalMethods)
            ])
        let forwarderClient = try ServiceSettings(
            service: "index", brokers: [bus.address], keyPair: bus.serverKeys, instance: "index-1"
        ).makeBusClient(logger: logger)
        let forwarder = ChangeForwarder(store: indexStore, client: forwarderClient, logger: logger)
        let client = try BusClientTransport(
            config: .init(brokers: [bus.address], keyPair: bus.clientKeys), logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { try await server.serve() }
            services.addTask { await disclosures.run() }
            services.addTask { await reads.run() }
            services.addTask { try await hub.run() }
            services.addTask { try await forwarderClient.runConnections() }
            services.addTask { try await forwarder.run() }
            try await withGRPCClient(transport: client) { client in
                let indexClient = Contactpoint_V1_Index.Client(wrapping: client)
                let notificationClient = Contactpoint_V1_Notification.Client(wrapping: client)
                // One child; the originating agency (0) and `agencies - 1` others, each involved by its own
                // practitioner.
                var generator = PopulationGenerator(seed: 5)
                var entry = generator.next()
                entry.involvements = []
                let childID = try await indexClient.putChildren(
                    .with { $0.children = [entry] },
                    metadata: try session("admin", org: "org-admin", roles: ["system-administrator"])
                ).childIds[0]
                var origin = ""
                for agency in 0..<agencies {
                    let recorded = try await indexClient.recordInvolvement(
                        .with {
                            $0.childID = childID
                            $0.involvement = .with {
                                $0.serviceType = .voluntaryService
                                $0.organisationName = "Agency \(agency)"
                                $0.contact = .with {
                                    // Names are letters only: agency 27 is "Practitioner Bb".
                                    $0.name =
                                        "Practitioner " + String(UnicodeScalar(UInt8(65 + agency / 26)))
                                        + String(UnicodeScalar(UInt8(97 + agency % 26)))
                                    $0.role = "Key worker"
                                    $0.telephone = "020 7946 \(String(format: "%04d", agency))"
                                }
                            }
                        }, metadata: try session("p-\(agency)", org: "org-\(agency)"))
                    if agency == 0 { origin = recorded.involvementID }
                }
                let flagger = try session("p-0", org: "org-0")
                let involvementID = origin

                // Every other agency's practitioner follows live; arrivals of indicator alerts are counted as they
                // come.
                let arrivals = Arrivals()
                let arrived = Wakeup()
                try await withThrowingTaskGroup(of: Void.self) { subscribers in
                    for agency in 1..<agencies {
                        let metadata = try session("p-\(agency)", org: "org-\(agency)")
                        subscribers.addTask {
                            var options = CallOptions.defaults
                            options.timeout = .seconds(3600)
                            try await notificationClient.subscribe(.init(), metadata: metadata, options: options) {
                                response in
                                for try await alert in response.messages where alert.change == "indicator-raised" {
                                    let now = ContinuousClock.now
                                    arrivals.state.withLock { state in
                                        state.count += 1
                                        if state.first == nil { state.first = now }
                                        state.last = now
                                        state.all.append(now)
                                    }
                                    arrived.signal()
                                }
                            }
                        }
                    }
                    func waitForArrivals(_ target: Int) async {
                        while arrivals.state.withLock({ $0.count }) < target { await arrived.wait(upTo: .seconds(1)) }
                    }
                    @Sendable func raise() async throws {
                        _ = try await indexClient.setIndicator(
                            .with {
                                $0.involvementID = involvementID
                                $0.kind = .informationToShare
                                $0.raised = true
                            }, metadata: flagger)
                    }
                    let recipients = agencies - 1
                    // Warm up (and let every subscription open): a flag is complete once all have it.
                    for round in 1...5 {
                        try await raise()
                        await waitForArrivals(round * recipients)
                    }
                    var firstSamples: [Duration] = []
                    var lastSamples: [Duration] = []
                    var writeSamples: [Duration] = []
                    var eachSamples: [Duration] = []
                    for round in 0..<flags {
                        let before = arrivals.state.withLock { $0.count }
                        arrivals.state.withLock {
                            $0.first = nil
                            $0.all = []
                        }
                        let start = ContinuousClock.now
                        try await raise()
                        writeSamples.append(start.duration(to: .now))
                        await waitForArrivals(before + recipients)
                        let (first, last, all) = arrivals.state.withLock { ($0.first!, $0.last!, $0.all) }
                        eachSamples += all.map { start.duration(to: $0) }
                        firstSamples.append(start.duration(to: first))
                        lastSamples.append(start.duration(to: last))
                        _ = round
                    }
                    let first = Latency(samples: firstSamples)
                    let last = Latency(samples: lastSamples)
                    let write = Latency(samples: writeSamples)
                    let each = Latency(samples: eachSamples)
                    print("\(agencies) agencies (\(recipients) live subscribers), \(flags) flags one at a time:")
                    print(
                        """
                          the flag itself (SetIndicator through the broker, durable): p50 \(format(write.p50))  \
                        p99 \(format(write.p99))
                        """
                    )
                    print(
                        """
                          flag → alert at a subscriber (each of \(eachSamples.count) arrivals): p50 \
                        \(format(each.p50))  p99 \(format(each.p99))
                        """
                    )
                    print("  flag → alert at the first subscriber: p50 \(format(first.p50))  p99 \(format(first.p99))")
                    print("  flag → alert at every subscriber:     p50 \(format(last.p50))  p99 \(format(last.p99))")

                    // Sustained: 4 flaggers as fast as they go; alerts counted at the subscribers.
                    let before = arrivals.state.withLock { $0.count }
                    let flagsPerSecond = try await Measure.throughput(inFlight: 4, duration: .seconds(seconds)) {
                        try await raise()
                    }
                    let raisedAlerts = Int(flagsPerSecond * Double(seconds)) * recipients
                    let drainStart = ContinuousClock.now
                    await waitForArrivals(before + raisedAlerts)
                    let total = Double(seconds) + drainStart.duration(to: .now) / .seconds(1)
                    let delivered = arrivals.state.withLock { $0.count } - before
                    print(
                        String(
                            format:
                                """
                                  sustained: %.0f flags/s raised; %d alerts pushed to subscribers in %.1f s = \
                                %.0f alerts/s
                                """,
                            flagsPerSecond, delivered, total, Double(delivered) / total))
                    subscribers.cancelAll()
                }
            }
            server.beginGracefulShutdown()
            services.cancelAll()
        }
    }
}

/// The indicator alerts subscribers have received so far, and when the first and last of the current flag came.
final class Arrivals: Sendable {
    let state = Mutex<
        (count: Int, last: ContinuousClock.Instant?, first: ContinuousClock.Instant?, all: [ContinuousClock.Instant])
    >((0, nil, nil, []))
}
