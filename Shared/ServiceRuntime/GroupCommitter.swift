import Foundation
import NamedThreads
public import ServiceLifecycle

/// Group commit: submissions from every caller queue here, and one committer writes all that is
/// queued in one transaction (one fsync with `synchronous=FULL`), then answers each caller. An
/// answer therefore always means the submission is on disk, and under load each fsync carries
/// many callers' work.
///
/// The committer is a thread of its own, and `commit` runs on it, one batch at a time, returning
/// one receipt per submission in order; if it throws, every submission of that batch fails with
/// its error. A thread rather than a task: a submission wakes it directly, and it writes
/// synchronously, where a task woken through a stream and a write handed to the database's
/// queue and back cost three hand-offs a batch.
public final class GroupCommitter<Submission: Sendable, Receipt: Sendable>: @unchecked Sendable {
    public typealias Commit = @Sendable ([Submission]) throws -> [Receipt]

    /// The thread's name (`top -H`, `perf`).
    let name: String
    /// The most weight (see `weight`) one transaction takes; the rest wait for the next. A single
    /// heavier submission still goes alone.
    let maximumBatch: Int
    let weight: @Sendable (Submission) -> Int
    let commit: Commit

    private struct Pending {
        var submission: Submission
        var continuation: CheckedContinuation<Receipt, any Error>
    }

    private enum Phase {
        case waiting
        case running
        /// Commit what is queued, then stop (graceful shutdown).
        case draining
        /// Refuse what is queued and stop (the committer was cancelled).
        case stopping
        case stopped
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var phase = Phase.waiting
    private var committed = 0

    public init(
        name: String, maximumBatch: Int, weight: @escaping @Sendable (Submission) -> Int = { _ in 1 },
        commit: @escaping Commit
    ) {
        self.name = name
        self.maximumBatch = maximumBatch
        self.weight = weight
        self.commit = commit
    }

    /// Transactions committed so far: with many callers, far fewer than submissions.
    public var commits: Int { locked { committed } }

    /// Submissions waiting for the next batch.
    var queued: Int { locked { pending.count } }

    /// Queues `submission` and returns its receipt once it is committed.
    public func submit(_ submission: Submission) async throws -> Receipt {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = locked {
                guard phase == .waiting || phase == .running else { return false }
                pending.append(Pending(submission: submission, continuation: continuation))
                condition.signal()
                return true
            }
            if !accepted { continuation.resume(throwing: GroupCommitterError.stopped) }
        }
    }

    /// Runs the committer until graceful shutdown (which comes after the RPC server has drained):
    /// then it commits what is queued and stops taking submissions. Cancelled, it refuses what
    /// is queued. Run once.
    public func run() async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (exited: CheckedContinuation<Void, Never>) in
                    let started = locked {
                        guard phase == .waiting else { return false }
                        phase = .running
                        return true
                    }
                    guard started else { return exited.resume() }
                    Thread.start(named: name) {
                        self.commitUntilStopped()
                        exited.resume()
                    }
                }
            } onGracefulShutdown: {
                self.stop(.draining)
            }
        } onCancel: {
            stop(.stopping)
        }
        // Submissions that came after the thread's last look, or while it was never started.
        refuseQueued()
    }

    private func commitUntilStopped() {
        while let batch = nextBatch() {
            do {
                let receipts = try commit(batch.map(\.submission))
                precondition(receipts.count == batch.count, "a commit returns one receipt per submission")
                locked { committed += 1 }
                for (pending, receipt) in zip(batch, receipts) { pending.continuation.resume(returning: receipt) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// What to commit next, waiting for it; nil once stopping (or drained).
    private func nextBatch() -> [Pending]? {
        locked {
            while pending.isEmpty, phase == .running { condition.wait() }
            guard phase != .stopping, !pending.isEmpty else {
                phase = .stopped
                return nil
            }
            var total = 0
            var taken = 0
            for submission in pending.lazy.map(\.submission) {
                let weight = weight(submission)
                if taken > 0, total + weight > maximumBatch { break }
                total += weight
                taken += 1
            }
            defer { pending.removeFirst(taken) }
            return Array(pending.prefix(taken))
        }
    }

    private func stop(_ phase: Phase) {
        locked {
            if self.phase != .stopped, self.phase != .stopping { self.phase = phase }
            condition.signal()
        }
    }

    private func refuseQueued() {
        let refused = locked {
            phase = .stopped
            defer { pending = [] }
            return pending
        }
        for pending in refused { pending.continuation.resume(throwing: GroupCommitterError.stopped) }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }
}

extension GroupCommitter: Service {}

public enum GroupCommitterError: Error, CustomStringConvertible {
    case stopped
    public var description: String { "the committer is shutting down" }
}
