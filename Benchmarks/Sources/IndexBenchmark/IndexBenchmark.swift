import Authentication
import BenchmarkSupport
import Broker
import BusTransport
import ConsentClient
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Logging
import SecurityPrimitives
import SwiftProtobuf
import Timekeeping
import ZeroMQ

/// The index at national scale on this machine: a synthetic population loaded straight into the
/// database (the feed loader) and more through the PutChildren RPC over the bus, then audited
/// searches and views through the broker (each writing its access event to the outbox before
/// replying), sequential for latency and with 32 concurrent clients for throughput; and memory.
///
/// BENCH_ONLY=quality measures search quality instead (SearchQuality.swift; BENCH_QUERIES per
/// kind of query, default 200; BENCH_SEED).
///
/// BENCH_CHILDREN (direct, default 1000000), BENCH_BUS_CHILDREN (default 100000), BENCH_SECONDS
/// (default 10), BENCH_DIR (default a temporary directory). BENCH_REUSE=1 skips both loads and
/// measures on the database (and the children sampled from it) an earlier run left in BENCH_DIR:
/// builds compared side by side at 11 M without loading each time. Broker, index service and
/// clients share this process: RSS covers all three.
@main
struct IndexBenchmark {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        let reuse = environment["BENCH_REUSE"] == "1"
        let directChildren = reuse ? 0 : Int(environment["BENCH_CHILDREN"] ?? "") ?? 1_000_000
        let busChildren = reuse ? 0 : Int(environment["BENCH_BUS_CHILDREN"] ?? "") ?? 100_000
        let seconds = Int(environment["BENCH_SECONDS"] ?? "") ?? 10
        let directory =
            environment["BENCH_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("index-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = "\(directory)/index.sqlite"
        if environment["BENCH_ONLY"] == "quality" {
            try await measureQuality(
                database: database, directory: directory, children: directChildren, reuse: reuse,
                perVariation: Int(environment["BENCH_QUERIES"] ?? "") ?? 200)
            return
        }
        // The children looked up, kept for BENCH_REUSE.
        let samplesFile = URL(fileURLWithPath: "\(directory)/samples.binpb")
        let samples: [Sample]
        if reuse {
            guard FileManager.default.fileExists(atPath: database),
                let reused = try savedSamples(samplesFile) ?? samplesFromQualityRun(directory)
            else {
                print("BENCH_REUSE=1: no database and samples from an earlier run in \(directory)")
                exit(1)
            }
            samples = reused
            try save(samples, to: samplesFile)
            print("index benchmark: the database in \(directory) reused (loads not measured)")
        } else {
            print(
                """
                index benchmark: \(directChildren) children loaded directly, \(busChildren) more through the bus; \
                database in \(directory)
                """
            )
            samples = try await loadDirectly(directChildren, into: database, directory: directory)
            try save(samples, to: samplesFile)
        }
        let clock = ContinuousClock()

        try await IndexOnBus.run(database: database) { [samples] index, sessions, rawClients in
            if busChildren > 0 { try await loadThroughBus(busChildren, index, as: sessions.administrator) }

            // Latency, one call at a time.
            let searches = samples.map { sample in
                Contactpoint_V1_SearchChildrenRequest.with {
                    $0.reason = .with { $0.code = .contactPractitioners }
                    $0.givenName = String(sample.entry.name.given.split(separator: " ")[0])
                    $0.familyName = sample.entry.name.family
                    $0.dateOfBirth = sample.entry.dateOfBirth
                }
            }
            let views = samples.map { sample in
                Contactpoint_V1_ViewRecordRequest.with {
                    $0.reason = .with { $0.code = .contactPractitioners }
                    $0.childID = sample.id
                }
            }
            var found = 0
            var position = 0
            let search = try await Measure.sequential(calls: 2000) {
                let result = try await index.searchChildren(
                    searches[position % searches.count], metadata: sessions.practitioner)
                if result.matches.first?.childID == samples[position % samples.count].id { found += 1 }
                position += 1
            }
            print(
                """
                audited search through the broker: p50 \(format(search.p50)), p99 \(format(search.p99)); right \
                child first in \(found) of \(position)
                """
            )
            position = 0
            let view = try await Measure.sequential(calls: 2000) {
                _ = try await index.viewRecord(views[position % views.count], metadata: sessions.practitioner)
                position += 1
            }
            print("audited view through the broker:   p50 \(format(view.p50)), p99 \(format(view.p99))")

            // Throughput: 32 clients, half searching, half viewing.
            let counter = Counter()
            var usage = ProcessUsage.now()
            let throughput = try await Measure.throughput(inFlight: 32, duration: .seconds(seconds)) {
                let n = counter.next()
                if n % 2 == 0 {
                    _ = try await index.searchChildren(searches[n % searches.count], metadata: sessions.practitioner)
                } else {
                    _ = try await index.viewRecord(views[n % views.count], metadata: sessions.practitioner)
                }
            }
            print(
                """
                audited lookups with 32 concurrent clients (half search, half view): \(Int(throughput))/s; \
                \(usage.perCall(rate: throughput))
                """
            )

            // The same mix from plain MDP clients, as agency gateways on the C SDK send it.
            var rawCalls: [RawMDPClients.Call] = []
            for (search, view) in zip(searches, views) {
                rawCalls.append(
                    .init(method: "/contactpoint.v1.Index/SearchChildren", payload: try search.serializedBytes()))
                rawCalls.append(.init(method: "/contactpoint.v1.Index/ViewRecord", payload: try view.serializedBytes()))
            }
            usage = ProcessUsage.now()
            let raw = try await rawClients.run(rawCalls, inFlight: 32, duration: .seconds(seconds))
            print(
                """
                audited lookups from plain MDP clients (as the C SDK), 32 in flight (half search, half view): \
                \(Int(raw.perSecond))/s; \(usage.perCall(rate: raw.perSecond)); \(raw.failed) \
                failed\(raw.firstFailure.map { " (first: \($0))" } ?? "")
                """
            )
            // The same lookups through the C SDK: one client, its own process.
            let sdk = try SDKLoad.prepare(
                directory: directory, raw: rawClients, lookups: Array(zip(searches, views)), seconds: seconds)
            usage = ProcessUsage.now()
            let figures = try await sdk.run()
            let sdkRate = Double(figures["lookups_per_second"] ?? "") ?? 0
            print(
                """
                audited lookups from the C SDK (one client, 32 in flight, half search, half view): \(Int(sdkRate))/s; \
                broker and index \(usage.perCall(rate: sdkRate)); the client \(figures["client_cpu_us_per_call"] ?? "?") µs \
                CPU per call; \(figures["failed"] ?? "?") failed; sequential search from the C SDK: p50 \
                \(figures["p50_ms"] ?? "?") ms, p99 \(figures["p99_ms"] ?? "?") ms
                """
            )
            print(
                "memory: VmRSS \(status("VmRSS")), VmHWM \(status("VmHWM")) (broker, index and clients in one process)")
            let size =
                (try? FileManager.default.attributesOfItem(atPath: "\(directory)/index.sqlite")[.size] as? Int) ?? 0
            print("database: \(size / 1_048_576) MiB\(reuse ? "" : " for \(directChildren + busChildren) children")")
        }
    }

    typealias Sample = (entry: Contactpoint_V1_ChildDetails, id: String)

    static func save(_ samples: [Sample], to file: URL) throws {
        try Contactpoint_V1_PutChildrenRequest.with {
            $0.children = samples.map { sample in
                .with {
                    $0.child = sample.entry
                    $0.child.childID = sample.id
                }
            }
        }.serializedData().write(to: file)
    }

    static func savedSamples(_ file: URL) throws -> [Sample]? {
        guard let saved = try? Data(contentsOf: file) else { return nil }
        return try Contactpoint_V1_PutChildrenRequest(serializedBytes: saved).children.map {
            ($0.child, $0.child.childID)
        }
    }

    /// The day the population in `directory` was made 18 years back from (kept beside the database
    /// at its load: a later regeneration from the seed must use it; databases loaded before it was
    /// kept used 2026-09-01).
    static func populationDate(_ directory: String) -> String {
        (try? String(contentsOfFile: "\(directory)/reference-date.txt", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "2026-09-01"
    }

    /// The samples a lookup run would have taken, from a quality run's database: its population is
    /// made again from the seed, and its IDs are in `ids.txt`.
    static func samplesFromQualityRun(_ directory: String) throws -> [Sample]? {
        guard let ids = try? String(contentsOfFile: "\(directory)/ids.txt", encoding: .utf8).split(separator: "\n")
        else { return nil }
        var generator = PopulationGenerator(seed: 42, referenceDate: populationDate(directory))
        let sampleEvery = max(1, ids.count / 5000)
        var samples: [Sample] = []
        for (loaded, id) in ids.enumerated() {
            let child = generator.next().child
            if loaded % sampleEvery == 0, samples.count < 5000 { samples.append((child, String(id))) }
        }
        return samples
    }

    /// Search quality over the population loaded directly (its children's IDs kept in
    /// `ids.txt` for BENCH_REUSE: the population is made again from its seed).
    static func measureQuality(
        database: String, directory: String, children: Int, reuse: Bool, perVariation: Int
    ) async throws {
        let idsFile = "\(directory)/ids.txt"
        var population = SearchQuality.Population()
        if reuse {
            let ids = try String(contentsOfFile: idsFile, encoding: .utf8).split(separator: "\n")
            var generator = PopulationGenerator(seed: 42, referenceDate: populationDate(directory))
            for id in ids { population.add(generator.next().child, id: String(id)) }
        } else {
            _ = try await loadDirectly(children, into: database, directory: directory) { population.add($0, id: $1) }
            try population.children.map(\.id).joined(separator: "\n").write(
                toFile: idsFile, atomically: true, encoding: .utf8)
        }
        let seed = UInt64(ProcessInfo.processInfo.environment["BENCH_SEED"] ?? "") ?? 7
        try await IndexOnBus.run(database: database) { [population] index, sessions, _ in
            try await SearchQuality.run(
                population: population, index: index, session: sessions.practitioner, perVariation: perVariation,
                seed: seed)
        }
    }

    /// The direct load (the operator's path for national feeds), timed: validation of the next
    /// batch overlaps the write of this one. Returns 5,000 of the children, spread evenly over it.
    static func loadDirectly(
        _ children: Int, into database: String, directory: String,
        each: (Contactpoint_V1_ChildDetails, String) -> Void = { _, _ in }
    ) async throws -> [Sample] {
        let clock = ContinuousClock()
        var generator = PopulationGenerator(seed: 42)
        try generator.referenceDate.write(toFile: "\(directory)/reference-date.txt", atomically: true, encoding: .utf8)
        var samples: [Sample] = []
        let sampleEvery = max(1, children / 5000)
        let loader = try FeedLoader(database: database, operatorName: "operator:bench")
        let start = clock.now
        try await loader.beginInitialLoad()
        var loaded = 0
        var batch = try loader.validate((0..<min(5000, children)).map { _ in generator.next() }, offset: 0)
        while !batch.isEmpty {
            let writing = batch
            async let stored = loader.store(writing)
            let remaining = children - loaded - writing.count
            let next = try loader.validate((0..<min(5000, max(0, remaining))).map { _ in generator.next() }, offset: 0)
            for (entry, id) in zip(writing, try await stored.childIDs) {
                each(entry.child, id)
                if loaded % sampleEvery == 0, samples.count < 5000 { samples.append((entry.child, id)) }
                loaded += 1
            }
            batch = next
        }
        let finishStart = clock.now
        try await loader.finishInitialLoad()
        let finishSeconds = (clock.now - finishStart) / .seconds(1)
        let seconds = (clock.now - start) / .seconds(1)
        let rate = Double(loaded) / seconds
        print(
            """
            direct initial load (feed loader, batches of 5,000; search index built at the end in \
            \(String(format: "%.1f", finishSeconds)) s): \(loaded) children in \(String(format: "%.1f", seconds)) \
            s = \(Int(rate)) children/s; 11 M at this rate: \(String(format: "%.1f", 11_000_000 / rate / 60)) min
            """
        )
        return samples
    }

    /// More children through PutChildren, timed: batches of 1,000, two calls in flight.
    static func loadThroughBus(
        _ children: Int, _ index: Contactpoint_V1_Index.Client<BusClientTransport>, as administrator: Metadata
    ) async throws {
        let clock = ContinuousClock()
        var generator = PopulationGenerator(seed: 43)
        let start = clock.now
        var loaded = 0
        while loaded < children {
            let batches = (0..<2).map { _ in
                (0..<min(1000, children - loaded)).map { _ in generator.next() }
            }.filter { !$0.isEmpty }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in batches {
                    group.addTask {
                        var options = CallOptions.defaults
                        options.timeout = .seconds(120)
                        _ = try await index.putChildren(
                            .with { $0.children = batch }, metadata: administrator, options: options)
                    }
                }
                try await group.waitForAll()
            }
            loaded += batches.map(\.count).reduce(0, +)
        }
        let seconds = (clock.now - start) / .seconds(1)
        let rate = Double(children) / seconds
        print(
            """
            load through the bus (PutChildren, batches of 1,000, 2 in flight): \(children) more children in \
            \(String(format: "%.1f", seconds)) s = \(Int(rate)) children/s; 11 M at this rate: \
            \(String(format: "%.1f", 11_000_000 / rate / 60)) min
            """
        )
    }

    static func format(_ duration: Duration) -> String { String(format: "%.2f ms", duration / .milliseconds(1)) }

    static func status(_ key: String) -> String {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix(key + ":") }.map {
            $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
        } ?? "?"
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// Broker, index service and client in this process on loopback TCP with CURVE, as in
/// production; sessions are signed with a key the index's verifier trusts.
enum IndexOnBus {
    struct Sessions: Sendable {
        var administrator: Metadata
        var practitioner: Metadata
    }

    static func run(
        database: String,
        _ body:
            @Sendable (Contactpoint_V1_Index.Client<BusClientTransport>, Sessions, RawMDPClients) async throws -> Void
    ) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let bus = try await LoopbackBroker.start(server: "index", client: "bench-client", logger: logger)
        defer { bus.broker.beginGracefulShutdown() }

        let signingKey = Ed25519.PrivateKey.generate()
        let verifier = SessionVerifier()
        verifier.trust(keys: ["bench": signingKey.publicKey])
        func session(_ id: String, roles: [String]) throws -> Metadata {
            let now = Int64(Date().timeIntervalSince1970)
            let claims = SessionClaims(
                sub: id, sid: "s-\(id)", org: "org-bench", la: "E09000033", roles: roles, iat: now, exp: now + 43_200,
                stepUpAt: now)
            let token = try CompactJWS.sign(
                payload: Array(JSONEncoder().encode(claims)), keyID: "bench", with: signingKey)
            return ["authorization": "Bearer \(token)"]
        }
        let sessions = Sessions(
            administrator: try session("admin", roles: ["practitioner", "system-administrator"]),
            practitioner: try session("p-1", roles: ["practitioner"]))
        let rawClients = RawMDPClients(
            broker: bus.address, keyPair: bus.clientKeys,
            authorization: sessions.practitioner[stringValues: "authorization"].first(where: { _ in true }) ?? "")

        let store = try IndexStore.open(path: database)
        let disclosures = store.outboxes.accessEventCommitter(name: "index-disclose")
        let service = IndexRPCService(
            store: store, disclosures: disclosures, consent: NoConsentService(),
            clock: .system)
        var serverConfig = BusServerTransport.Config(brokers: [bus.address], keyPair: bus.serverKeys)
        serverConfig.sessionsPerBroker = 64
        let server = GRPCServer(
            transport: try BusServerTransport(config: serverConfig, logger: logger), services: [service],
            interceptors: [AuthenticationInterceptor(verifier: verifier)])
        let client = try BusClientTransport(
            config: .init(brokers: [bus.address], keyPair: bus.clientKeys), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { await disclosures.run() }
            try await withGRPCClient(transport: client) { client in
                try await body(Contactpoint_V1_Index.Client(wrapping: client), sessions, rawClients)
            }
            server.beginGracefulShutdown()
            group.cancelAll()
        }
    }
}
