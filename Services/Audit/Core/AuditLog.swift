public import ContactPointAPI
import Foundation
import Logging
import MerkleTree
import ServiceLifecycle
import Synchronization

/// Group commit: appends from every caller queue here, and one committer writes all that is
/// queued in one transaction (one fsync with `synchronous=FULL`), then answers each caller. An
/// answer therefore always means the events are on disk, and under load each fsync carries many
/// callers' events.
public final class AuditLog: Sendable {
    let store: AuditStore
    let rules: MisuseRules
    /// Unix milliseconds now.
    let clock: @Sendable () -> Int64
    /// The most events one transaction takes; the rest wait for the next.
    let maximumBatch: Int

    private struct Pending {
        var submission: AuditStore.Submission
        var continuation: CheckedContinuation<[AuditStore.Receipt], any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var stopped = false
        var commits = 0
    }

    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(store: AuditStore, rules: MisuseRules, maximumBatch: Int = 4096, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.rules = rules
        self.maximumBatch = maximumBatch
        self.clock = clock
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Transactions committed so far: with many callers, far fewer than calls.
    public var commits: Int { state.withLock { $0.commits } }

    /// Appends the events (in order) and returns once they are durable.
    public func append(_ events: [Contactpoint_V1_AuditEvent], sender: String) async throws -> [AuditStore.Receipt] {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.pending.append(Pending(submission: .init(events: events, sender: sender), continuation: continuation))
                return true
            }
            if accepted {
                wake.yield()
            } else {
                continuation.resume(throwing: AuditLogError.stopped)
            }
        }
    }

    /// The committer, run once. On graceful shutdown (which comes after the RPC server has
    /// drained) it commits what is queued and stops taking appends.
    public func run() async {
        await withGracefulShutdownHandler {
            var frontier: MerkleFrontier?
            for await _ in wakeups {
                while case let batch = takeBatch(), !batch.isEmpty {
                    do {
                        let (receipts, committed) = try await store.append(
                            batch.map(\.submission), loggedAt: clock(), rules: rules, frontier: frontier)
                        frontier = committed
                        state.withLock { $0.commits += 1 }
                        for (pending, receipt) in zip(batch, receipts) { pending.continuation.resume(returning: receipt) }
                    } catch {
                        frontier = nil
                        for pending in batch { pending.continuation.resume(throwing: error) }
                    }
                }
                if state.withLock({ $0.stopped }) { break }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopped = true }
            self.wake.yield()
        }
        // Anything queued after the last batch (the committer was cancelled): refuse, never drop
        // silently; and refuse what comes later (a stream is iterated once: this log is done).
        for pending in state.withLock({ state in
            state.stopped = true
            defer { state.pending = [] }
            return state.pending
        }) {
            pending.continuation.resume(throwing: AuditLogError.stopped)
        }
    }

    private func takeBatch() -> [Pending] {
        state.withLock { state in
            var count = 0
            var taken = 0
            for pending in state.pending {
                if taken > 0, count + pending.submission.events.count > maximumBatch { break }
                count += pending.submission.events.count
                taken += 1
            }
            let batch = Array(state.pending.prefix(taken))
            state.pending.removeFirst(taken)
            return batch
        }
    }
}

enum AuditLogError: Error, CustomStringConvertible {
    case stopped
    var description: String { "the audit log is shutting down" }
}

extension AuditLog: Service {}
