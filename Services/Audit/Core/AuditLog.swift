public import ContactPointAPI
import Foundation
import MerkleTree
public import ServiceLifecycle
import ServiceRuntime
import Synchronization
public import Timekeeping

/// The log's writer: appends from every sender are group-committed (``GroupCommitter``), so an
/// answer always means the events are on disk, and under load each fsync carries many senders'
/// events. The committer keeps the tree's frontier and the rules' recent activity between batches.
public final class AuditLog: Sendable {
    let store: AuditStore
    let rules: MisuseRules
    /// Unix milliseconds now.
    let clock: WallClock
    private let committer: GroupCommitter<AuditStore.Submission, [AuditStore.Receipt]>

    /// - Parameter maximumBatch: the most events one transaction takes; the rest wait for the next.
    public init(store: AuditStore, rules: MisuseRules, maximumBatch: Int = 4096, clock: WallClock) {
        self.store = store
        self.rules = rules
        self.clock = clock
        // The frontier and the rules' recent activity as of the last commit (nil after a
        // failure: the store reads them again).
        let committed = Mutex<(frontier: MerkleFrontier, activity: RecentActivity)?>(nil)
        committer = GroupCommitter(name: "audit-append", maximumBatch: maximumBatch, weight: { $0.events.count }) {
            batch in
            let last = committed.withLock { last in
                defer { last = nil }
                return last
            }
            let (receipts, frontier, activity) = try store.append(
                batch, loggedAt: clock.now.milliseconds, rules: rules, frontier: last?.frontier,
                activity: last?.activity)
            committed.withLock { $0 = (frontier, activity) }
            return receipts
        }
    }

    /// Transactions committed so far: with many senders, far fewer than calls.
    public var commits: Int { committer.commits }

    /// Appends the events (in order) and returns once they are durable.
    public func append(_ events: [Contactpoint_V1_AuditEvent], sender: String) async throws -> [AuditStore.Receipt] {
        try await committer.submit(.init(events: events, sender: sender))
    }

    /// The committer, run once; on graceful shutdown it commits what is queued and stops.
    public func run() async { await committer.run() }
}

extension AuditLog: Service {}
