import BusTransport
import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import TestSupport
import Testing

/// Power cuts, simulated on the raw bytes: the whole stack runs a loop of acknowledged writes under
/// `strace`, and each chosen cut point is rebuilt as only what was synced would leave the disk
/// (``CrashFileSystem``). The stack must start on every such state with every acknowledged write,
/// a log that `audit verify` accepts, and outboxes that drain.
///
/// A cut point follows one sync (a file's or a directory's): between two syncs what is on disk
/// does not change, so every acknowledgement received before the *next* sync ended must already be
/// in that state. By default the first, middle and last sync of each service (and of `up`'s own
/// files) are tried; `POWER_CUT_POINTS` asks for `all` or for a number spread evenly, and
/// `POWER_CUT_ITERATIONS` sets the writes per caller (default 4): `scripts/power-cut-sweep` runs
/// the full sweep.
@Suite("Power cut", .serialized, .timeLimit(.minutes(10)))
struct PowerCutTests {
    @Test(
        """
        after a power cut at any sync the stack starts with every acknowledged write, audit verify passes and \
        outboxes drain
        """
    )
    func acknowledgedWritesSurvive() async throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["POWER_CUT_ITERATIONS"].flatMap(Int.init) ?? 4
        let work = try TemporaryDirectory(prefix: "power-cut")
        let recorded = "\(work.path)/recorded"
        try FileManager.default.createDirectory(atPath: recorded, withIntermediateDirectories: false)

        // Given the stack under strace from its first start, and a loop of acknowledged writes
        let stack = try await LocalStack.start(root: recorded, tracingTo: "\(work.path)/trace")
        let (people, acknowledged) = try await PowerCutWorkload.run(on: stack, writers: 2, iterations: iterations)
        try await stack.cutPower()
        let trace = try SystemCallTrace(contentsOf: "\(work.path)/trace", root: recorded)
        let syncs = trace.calls.indices.filter { if case .sync = trace.calls[$0].operation { true } else { false } }
        #expect(syncs.count > 20, "the recording holds the syncs of start-up and of every write")
        #expect(trace.unresolved == 0, "every file-system call under the root was understood")
        #expect(acknowledged.involvements.count == 2 * 2 * iterations)

        // When the power is cut just after each chosen sync
        let owners = syncs.map { Self.owner(of: trace.calls[$0].operation, root: recorded) }
        var tried: [String: Int] = [:]
        for point in Self.cutPoints(owners: owners, asked: environment["POWER_CUT_POINTS"]) {
            let syncIndex = syncs[point]
            let nextSyncEnd = point + 1 < syncs.count ? trace.calls[syncs[point + 1]].endMicros : Int64.max
            var files = CrashFileSystem(root: recorded)
            for call in trace.calls[...syncIndex] { files.apply(call.operation) }
            let owner = owners[point]
            tried[owner, default: 0] += 1
            let expected = acknowledged.before(nextSyncEnd)
            let label =
                """
                cut \(point + 1) of \(syncs.count) syncs (after \(owner)'s), \(expected.involvements.count) \
                writes acknowledged
                """
            let cut = "\(work.path)/cut-\(point)"
            try FileManager.default.createDirectory(atPath: cut, withIntermediateDirectories: false)
            try files.materialize(into: cut)
            // Then the stack starts on what the disk kept, with everything it acknowledged
            do {
                try await Self.check(cut: cut, expected: expected, people: people, label: label)
            } catch {
                Issue.record(error, Comment(rawValue: label))
            }
            try? FileManager.default.removeItem(atPath: cut)
        }
        let recordedByOwner = Dictionary(grouping: owners) { $0 }.mapValues(\.count)
        print(
            "power cut: cut points tried / syncs recorded, by whose file the sync made durable: "
                + recordedByOwner.keys.sorted().map { "\($0) \(tried[$0] ?? 0)/\(recordedByOwner[$0]!)" }.joined(
                    separator: ", "))
    }

    /// Which cut points to try, given whose file each sync made durable: by default the first,
    /// middle and last sync of each owner; `all`; or a number spread evenly from first to last.
    static func cutPoints(owners: [String], asked: String?) -> [Int] {
        switch asked {
        case "all"?:
            return Array(owners.indices)
        case let count?:
            let count = min(max(Int(count) ?? 2, 2), owners.count)
            return Array(Set((0..<count).map { $0 * (owners.count - 1) / (count - 1) })).sorted()
        case nil:
            let byOwner = Dictionary(grouping: owners.indices) { owners[$0] }
            return Array(
                Set(byOwner.values.flatMap { points in [points.first!, points[points.count / 2], points.last!] })
            ).sorted()
        }
    }

    /// The service whose file a sync made durable, or `up` for keys, configuration and state.
    static func owner(of operation: SystemCallTrace.Operation, root: String) -> String {
        guard case .sync(let path) = operation, path.hasPrefix("\(root)/data/") else { return "up" }
        return String(path.dropFirst("\(root)/data/".count).split(separator: "/").first ?? "up")
    }

    static func check(cut: String, expected: Acknowledged, people: WorkloadPeople, label: String) async throws {
        let stack = try await LocalStack.start(root: cut)
        try await stack.waitForStatus("healthy after \(label)") { $0.isHealthy }
        let comment = Comment(rawValue: label)
        if expected.peopleAt != nil {
            try await withGRPCClient(transport: try BusClientTransport(config: stack.operatorClientConfig())) {
                client in
                // The practitioner's account and session came through the cut too (and the body
                // always calls: with no call at all, GRPCClient can stop before it runs)
                _ = try await Contactpoint_V1_Identity.Client(wrapping: client).whoAmI(
                    .init(), metadata: people.practitioner)
                let index = Contactpoint_V1_Index.Client(wrapping: client)
                var acknowledgedIDs: Set<String> = []
                for (childID, _) in expected.children {
                    let record = try await index.viewRecord(
                        .with {
                            $0.childID = childID
                            $0.reason = .with { $0.code = .recordMaintenance }
                        }, metadata: people.practitioner)
                    let stored = Dictionary(record.involvements.map { ($0.involvementID, $0) }) { first, _ in first }
                    for (involvement, _) in expected.involvements where involvement.childID == childID {
                        acknowledgedIDs.insert(involvement.involvementID)
                        let found = stored[involvement.involvementID]
                        #expect(found != nil, "involvement \(involvement.involvementID) lost; \(comment)")
                        if involvement.indicatorRaised, let found {
                            #expect(
                                found.indicators.contains { $0.kind == .informationToShare },
                                "indicator lost; \(comment)")
                        }
                    }
                }
                // No identifier is given out twice: a new involvement gets none acknowledged before
                if let childID = expected.children.first?.id {
                    let fresh = try await index.recordInvolvement(
                        .with {
                            $0.childID = childID
                            $0.involvement = .with {
                                $0.serviceType = .voluntaryService
                                $0.organisationName = "After the cut"
                                $0.contact = .with {
                                    $0.name = "Sam Carter"
                                    $0.role = "Deputy head"
                                    $0.telephone = "020 7946 0999"
                                }
                            }
                        }, metadata: people.practitioner)
                    #expect(!acknowledgedIDs.contains(fresh.involvementID), "involvement id reused; \(comment)")
                }
                // Every acknowledged search and view reaches the audit trail
                let audit = Contactpoint_V1_Audit.Client(wrapping: client)
                for childID in Set(expected.searches.map(\.childID) + expected.views.map(\.childID)) {
                    let searches = expected.searches.filter { $0.childID == childID }.count
                    let views = expected.views.filter { $0.childID == childID }.count
                    var counts = (searches: 0, views: 0)
                    try await eventually("\(searches) searches and \(views) views of \(childID) in the trail; \(label)")
                    {
                        let entries = try await audit.subjectAccess(
                            .with { $0.childID = childID }, metadata: people.auditor
                        ).entries
                        counts = (
                            entries.filter { $0.reasonCode == "service-provision" }.count,
                            entries.filter { $0.reasonCode == "caf-assessment" }.count
                        )
                        return counts.searches >= searches && counts.views >= views
                    }
                }
            }
        }
        // The outboxes drain, and the log with its signed heads verifies
        try await eventually("outboxes drained; \(label)") { try Self.undelivered(in: stack).isEmpty }
        let verify = try RunningProcess("contactpoint", ["audit", "verify", "--data-dir", cut], name: "verify")
        #expect(await verify.exited() == 0, "audit verify: \(verify.text); \(comment)")
        #expect(verify.text.contains("intact:"), "\(verify.text)")
    }

    /// The outboxes still holding events, by database and table.
    static func undelivered(in stack: LocalStack) throws -> [String] {
        var pending: [String] = []
        for service in ["index", "consent", "notification", "identity"] {
            var configuration = Configuration()
            configuration.readonly = true
            let database = try DatabaseQueue(
                path: "\(stack.directory.dataDirectory(service: service))/\(service).sqlite",
                configuration: configuration)
            // Every service keeps the same outboxes (StoreSupport's OutboxTables); not every one
            // has change events to send.
            let tables = try database.read { db in
                try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE name IN ('audit_outbox', 'change_outbox')")
            }
            for table in tables
            where try database.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }) > 0 {
                pending.append("\(service).\(table)")
            }
        }
        return pending
    }
}
