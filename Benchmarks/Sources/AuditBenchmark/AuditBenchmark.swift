import Audit
import ContactPointAPI
import Foundation
import Identifiers
import MerkleTree
import Synchronization
import Timekeeping

/// The audit log's figures: durable appends per second (group commit against one transaction per
/// call, side by side), proof times as the log grows (1 M and 10 M events by default), and
/// verify time per million events.
///
///     swift run -c release --package-path Benchmarks audit-benchmark
///
/// BENCH_SECONDS (per append row, default 5), BENCH_SIZES (default 1000000,10000000),
/// BENCH_GROW_CALLERS (concurrent senders while growing, default 4),
/// BENCH_VERIFY_MAX (largest size verified, default 1000000), BENCH_DIR (default a new
/// temporary directory, removed at the end; a log grown there by an earlier run is grown on, or
/// only measured if it is already as large).
@main
struct AuditBenchmark {
    static let environment = ProcessInfo.processInfo.environment
    static let seconds = Double(environment["BENCH_SECONDS"] ?? "5") ?? 5
    static let sizes = (environment["BENCH_SIZES"] ?? "1000000,10000000").split(separator: ",").compactMap {
        UInt64($0)
    }
    /// Concurrent senders while growing the log, each with batches of 500 (`BENCH_GROW_CALLERS`).
    static let growCallers = UInt64(environment["BENCH_GROW_CALLERS"] ?? "4") ?? 4
    static let verifyMaximum = UInt64(environment["BENCH_VERIFY_MAX"] ?? "1000000") ?? 1_000_000
    /// Monday 2 November 2026 09:00 UTC: disclosures inside working hours, as most are.
    static let start: Int64 = 1_793_610_000_000

    static func main() async throws {
        let directory =
            environment["BENCH_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("audit-bench-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if environment["BENCH_DIR"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
        print(
            """
            audit benchmark: \(ProcessInfo.processInfo.activeProcessorCount) cores, SQLite WAL synchronous=FULL, \
            in \(directory)
            """
        )

        print("\n## Durable appends (one disclosure event per call, as the index sends them)\n")
        print("| callers | group commit events/s | transactions | one transaction per call events/s | group/single |")
        print("|---:|---:|---:|---:|---:|")
        for callers in [1, 16, 64, 256] {
            let grouped = try await measureAppends(directory: directory, callers: callers, maximumBatch: 4096)
            let single = try await measureAppends(directory: directory, callers: callers, maximumBatch: 1)
            print(
                """
                | \(callers) | \(Int(grouped.rate)) | \(grouped.transactions) | \(Int(single.rate)) | \
                \(String(format: "%.1f", grouped.rate / single.rate))× |
                """
            )
        }

        print("\n## Growing one log (forwarder batches of 500, \(growCallers) callers), proofs and verify\n")
        print(
            """
            | events | load events/s | inclusion proof p50 / p99 µs | consistency proof p50 / p99 µs | trivial \
            read p50 / p99 µs | verify s | verify s per million | log MB | query index MB |
            """
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        let path = "\(directory)/grown.sqlite"
        let store = try AuditStore.open(path: path)
        let clock = Clock()
        let log = AuditLog(store: store, rules: MisuseRules(), clock: WallClock { Instant(milliseconds: clock.now) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            // A log left in BENCH_DIR by an earlier run grows from where it is.
            var size = try await store.size()
            for target in sizes {
                let began = Date()
                let loaded = target > size ? target - size : 0
                try await grow(log, from: size, to: max(size, target), clock: clock)
                let loadRate = Double(loaded) / Date().timeIntervalSince(began)
                size = max(size, target)
                let inclusion = try await timeInclusionProofs(store, size: size)
                let consistency = try await timeConsistencyProofs(store, size: size)
                let floor = try await timeTrivialReads(store)
                var verifyText = "–"
                var perMillion = "–"
                if size <= verifyMaximum {
                    let verifyStart = Date()
                    let report = try AuditVerifier.verify(
                        database: path, checkpointDirectory: nil,
                        publicKey: .init(rawRepresentation: [UInt8](repeating: 7, count: 32)))
                    let elapsed = Date().timeIntervalSince(verifyStart)
                    precondition(report.isIntact && report.events == size, "verify: \(report.problems.prefix(3))")
                    verifyText = String(format: "%.1f", elapsed)
                    perMillion = String(format: "%.1f", elapsed / Double(size) * 1_000_000)
                }
                let megabytes = (fileSize(path) + fileSize(path + "-wal")) / 1_048_576
                let indexPath = "\(directory)/grown-index.sqlite"
                let indexMegabytes = (fileSize(indexPath) + fileSize(indexPath + "-wal")) / 1_048_576
                print(
                    """
                    | \(size) | \(loaded > 0 ? "\(Int(loadRate))" : "–") | \(inclusion.p50) / \(inclusion.p99) | \
                    \(consistency.p50) / \(consistency.p99) | \(floor.p50) / \(floor.p99) | \(verifyText) | \
                    \(perMillion) | \(megabytes) | \(indexMegabytes) |
                    """
                )
            }
            group.cancelAll()
        }
    }

    /// Appends single-event calls from `callers` concurrent callers for `seconds` on a fresh log.
    static func measureAppends(directory: String, callers: Int, maximumBatch: Int) async throws -> (
        rate: Double, transactions: Int
    ) {
        let store = try AuditStore.open(path: "\(directory)/appends-\(callers)-\(maximumBatch).sqlite")
        let clock = Clock()
        let log = AuditLog(
            store: store, rules: MisuseRules(), maximumBatch: maximumBatch,
            clock: WallClock { Instant(milliseconds: clock.now) })
        let deadline = Date().addingTimeInterval(seconds)
        // Serials taken in turn: every caller's event occurs as it is sent.
        let sent = Counter()
        let began = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await log.run() }
            try await withThrowingTaskGroup(of: Void.self) { callersGroup in
                for _ in 0..<callers {
                    callersGroup.addTask {
                        while Date() < deadline {
                            let serial = sent.add(1)
                            clock.sent(serial: serial)
                            _ = try await log.append([event(serial: serial)], sender: "index")
                        }
                    }
                }
                try await callersGroup.waitForAll()
            }
            group.cancelAll()
        }
        let elapsed = Date().timeIntervalSince(began)
        return (Double(sent.value) / elapsed, log.commits)
    }

    static func grow(_ log: AuditLog, from: UInt64, to target: UInt64, clock: Clock) async throws {
        let callers = growCallers
        let batch: UInt64 = 500
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var next = from + caller * batch
                    while next < target {
                        let end = min(next + batch, target)
                        clock.sent(serial: Int(end - 1))
                        _ = try await log.append((next..<end).map { event(serial: Int($0)) }, sender: "index")
                        next += callers * batch
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func timeInclusionProofs(_ store: AuditStore, size: UInt64) async throws -> (p50: Int, p99: Int) {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = []
        for _ in 0..<2000 {
            let leaf = UInt64.random(in: 0..<size, using: &generator)
            let began = ContinuousClock.now
            // Event N sits near leaf N (callers interleave their batches).
            _ = try await store.inclusionProof(eventID: eventID(serial: Int(leaf)), size: size)
            samples.append(microseconds(began.duration(to: .now)))
        }
        return percentiles(samples)
    }

    static func timeConsistencyProofs(_ store: AuditStore, size: UInt64) async throws -> (p50: Int, p99: Int) {
        var samples: [Double] = []
        for _ in 0..<2000 {
            let first = UInt64.random(in: 1..<size)
            let began = ContinuousClock.now
            _ = try await store.consistencyProof(first: first, second: size)
            samples.append(microseconds(began.duration(to: .now)))
        }
        return percentiles(samples)
    }

    /// The floor under every proof: one read through the store's connection pool that does nothing.
    static func timeTrivialReads(_ store: AuditStore) async throws -> (p50: Int, p99: Int) {
        var samples: [Double] = []
        for _ in 0..<2000 {
            let began = ContinuousClock.now
            _ = try await store.size()
            samples.append(microseconds(began.duration(to: .now)))
        }
        return percentiles(samples)
    }

    /// When event `serial` occurred: 20,000 events a second.
    static func occurred(serial: Int) -> Int64 { start + Int64(serial / 20) }

    /// The id the services would give event `serial` (a UUIDv7, time-ordered), with random bits
    /// derived from the serial so that a proof can name it later.
    static func eventID(serial: Int) -> String {
        let bits = UInt64(serial) &* 0x9E37_79B9_7F4A_7C15
        return EventID.make(milliseconds: occurred(serial: serial), random: (bits >> 52, bits))
    }

    /// A disclosure as the index sends it: one child, the fields shown, a reason; practitioners,
    /// organisations and children spread as in a national population (11 million children).
    static func event(serial: Int) -> Contactpoint_V1_AuditEvent {
        .with {
            $0.eventID = eventID(serial: serial)
            $0.occurredAtMs = occurred(serial: serial)
            $0.action = "index/view-record"
            $0.category = .disclosure
            $0.actor = .with {
                // Each practitioner works for one organisation, each organisation is in one authority.
                $0.practitionerID = "p-\(serial % 350_000)"
                $0.organisationID = "org-\(serial % 350_000 % 20_000)"
                $0.localAuthority = "E0900\(String(format: "%04d", serial % 350_000 % 20_000 % 150))"
                $0.roles = ["practitioner"]
                $0.sessionHash = String(repeating: "ab", count: 32)
            }
            $0.service = "index"
            $0.instance = "index-1"
            $0.childIds = [
                String(format: "%010d", (UInt64(serial) &* 0xD1B5_4A32_D192_ED03) % 11_000_000 + 4_000_000_000)
            ]
            $0.disclosedFields = ["name", "date_of_birth", "address", "carers", "involvements"]
            $0.reasonCode = "safeguarding-enquiry"
            $0.outcome = .permitted
            $0.access = .with {
                $0.childLocalAuthority = "E0900\(String(format: "%04d", serial % 150))"
                $0.callerOrganisationInvolved = true
            }
        }
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }

    static func percentiles(_ samples: [Double]) -> (p50: Int, p99: Int) {
        let sorted = samples.sorted()
        return (Int(sorted[sorted.count / 2]), Int(sorted[sorted.count * 99 / 100]))
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }
}

/// The log's clock: events are delivered as they occur, so "now" is when the newest event sent
/// occurred (the same in every run).
final class Clock: Sendable {
    private let newest = Mutex(0)
    func sent(serial: Int) { newest.withLock { $0 = max($0, serial) } }
    var now: Int64 { AuditBenchmark.occurred(serial: newest.withLock { $0 }) }
}

final class Counter: Sendable {
    private let total = Mutex(0)
    /// Adds `n`; returns the total before.
    @discardableResult
    func add(_ n: Int) -> Int {
        total.withLock { total in
            defer { total += n }
            return total
        }
    }
    var value: Int { total.withLock { $0 } }
}
