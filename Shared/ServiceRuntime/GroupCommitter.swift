public import ServiceLifecycle
import Synchronization

/// Group commit: submissions from every caller queue here, and one committer writes all that is
/// queued in one transaction (one fsync with `synchronous=FULL`), then answers each caller. An
/// answer therefore always means the submission is on disk, and under load each fsync carries
/// many callers' work.
///
/// `commit` is called by the committer alone, one batch at a time, and returns one receipt per
/// submission in order; if it throws, every submission of that batch fails with its error.
public final class GroupCommitter<Submission: Sendable, Receipt: Sendable>: Sendable {
    public typealias Commit = @Sendable ([Submission]) async throws -> [Receipt]

    /// The most weight (see `weight`) one transaction takes; the rest wait for the next. A single
    /// heavier submission still goes alone.
    let maximumBatch: Int
    let weight: @Sendable (Submission) -> Int
    let commit: Commit

    private struct Pending {
        var submission: Submission
        var continuation: CheckedContinuation<Receipt, any Error>
    }

    private struct State {
        var pending: [Pending] = []
        var stopped = false
        var commits = 0
    }

    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(maximumBatch: Int, weight: @escaping @Sendable (Submission) -> Int = { _ in 1 }, commit: @escaping Commit) {
        self.maximumBatch = maximumBatch
        self.weight = weight
        self.commit = commit
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Transactions committed so far: with many callers, far fewer than submissions.
    public var commits: Int { state.withLock { $0.commits } }

    /// Queues `submission` and returns its receipt once it is committed.
    public func submit(_ submission: Submission) async throws -> Receipt {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.pending.append(Pending(submission: submission, continuation: continuation))
                return true
            }
            if accepted {
                wake.yield()
            } else {
                continuation.resume(throwing: GroupCommitterError.stopped)
            }
        }
    }

    /// The committer, run once. On graceful shutdown (which comes after the RPC server has
    /// drained) it commits what is queued and stops taking submissions.
    public func run() async {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                while case let batch = takeBatch(), !batch.isEmpty {
                    do {
                        let receipts = try await commit(batch.map(\.submission))
                        precondition(receipts.count == batch.count, "a commit returns one receipt per submission")
                        state.withLock { $0.commits += 1 }
                        for (pending, receipt) in zip(batch, receipts) { pending.continuation.resume(returning: receipt) }
                    } catch {
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
        // silently; and refuse what comes later (a stream is iterated once: this committer is done).
        for pending in state.withLock({ state in
            state.stopped = true
            defer { state.pending = [] }
            return state.pending
        }) {
            pending.continuation.resume(throwing: GroupCommitterError.stopped)
        }
    }

    private func takeBatch() -> [Pending] {
        state.withLock { state in
            var total = 0
            var taken = 0
            for pending in state.pending {
                let weight = weight(pending.submission)
                if taken > 0, total + weight > maximumBatch { break }
                total += weight
                taken += 1
            }
            let batch = Array(state.pending.prefix(taken))
            state.pending.removeFirst(taken)
            return batch
        }
    }
}

extension GroupCommitter: Service {}

public enum GroupCommitterError: Error, CustomStringConvertible {
    case stopped
    public var description: String { "the committer is shutting down" }
}
