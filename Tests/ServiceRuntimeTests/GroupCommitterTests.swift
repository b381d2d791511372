import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import ServiceRuntime

@Suite("Group commit", .timeLimit(.minutes(1)))
struct GroupCommitterTests {
    /// What the commits saw, and a gate that holds the first commit until opened.
    final class Ledger: Sendable {
        let batches = Mutex<[[Int]]>([])
        let threads = Mutex<Set<String>>([])
        let firstCommitBegan = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let holdFirst: Bool

        init(holdFirst: Bool = false) { self.holdFirst = holdFirst }

        func commit(_ batch: [Int]) throws -> [Int] {
            let first = batches.withLock { batches in
                batches.append(batch)
                return batches.count == 1
            }
            _ = threads.withLock { $0.insert(Self.threadName()) }
            if first, holdFirst {
                firstCommitBegan.signal()
                gate.wait()
            }
            if batch.contains(where: { $0 < 0 }) { throw CocoaError(.fileWriteNoPermission) }
            // As long as an fsync: callers queue meanwhile.
            Thread.sleep(forTimeInterval: 0.002)
            return batch.map { $0 * 2 }
        }

        static func threadName() -> String {
            ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(
                in: .newlines)
        }
    }

    func committer(_ ledger: Ledger, maximumBatch: Int = 8) -> GroupCommitter<Int, Int> {
        GroupCommitter(name: "test-commit", maximumBatch: maximumBatch, weight: { _ in 1 }) { try ledger.commit($0) }
    }

    /// Submits `values` at once from tasks of their own; returns once all are queued.
    func submitQueued(_ values: [Int], to committer: GroupCommitter<Int, Int>) async throws -> Task<
        [Result<Int, any Error>], Never
    > {
        let queuedBefore = committer.queued
        let submissions = Task {
            await withTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
                for value in values {
                    group.addTask {
                        do { return (value, .success(try await committer.submit(value))) } catch {
                            return (value, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }.sorted { $0.key < $1.key }.map(\.value)
            }
        }
        try await eventually("\(values.count) submissions queued", every: .milliseconds(5)) {
            committer.queued >= queuedBefore + values.count
        }
        #expect(committer.queued == queuedBefore + values.count)
        return submissions
    }

    @Test(
        """
        every submission gets its own receipt; many callers share few transactions, none over the maximum, on the \
        committer's named thread
        """
    )
    func batches() async throws {
        let ledger = Ledger()
        let committer = committer(ledger)
        let running = Task { await committer.run() }
        let receipts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for value in 0..<200 { group.addTask { (value, try await committer.submit(value)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        running.cancel()
        await running.value
        #expect(receipts.count == 200 && receipts.allSatisfy { $0.value == $0.key * 2 })
        let batches = ledger.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(batches.allSatisfy { $0.count <= 8 } && batches.count < 100 && committer.commits == batches.count)
        #expect(ledger.threads.withLock { $0 } == ["test-commit"])
    }

    @Test("a failed commit fails every submission of its batch; the committer goes on")
    func failedCommit() async throws {
        let committer = committer(Ledger())
        let running = Task { await committer.run() }
        await #expect(throws: CocoaError.self) { try await committer.submit(-1) }
        #expect(try await committer.submit(5) == 10)
        running.cancel()
        await running.value
    }

    @Test("graceful shutdown commits what is queued, then refuses submissions")
    func gracefulShutdown() async throws {
        let ledger = Ledger(holdFirst: true)
        let committer = committer(ledger)
        let group = ServiceGroup(services: [committer], logger: Logger(label: "test"))
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            let first = Task { try await committer.submit(1) }
            await withCheckedContinuation { began in
                DispatchQueue.global().async {
                    ledger.firstCommitBegan.wait()
                    began.resume()
                }
            }
            let queued = try await submitQueued([2, 3], to: committer)
            await group.triggerGracefulShutdown()
            ledger.gate.signal()
            #expect(try await first.value == 2)
            #expect(try await queued.value.map { try $0.get() } == [4, 6])
        }
        await #expect(throws: GroupCommitterError.self) { try await committer.submit(4) }
    }

    @Test("cancelled, the committer finishes the batch it is writing and refuses what is queued")
    func cancelled() async throws {
        let ledger = Ledger(holdFirst: true)
        let committer = committer(ledger)
        let running = Task { await committer.run() }
        let first = Task { try await committer.submit(1) }
        await withCheckedContinuation { began in
            DispatchQueue.global().async {
                ledger.firstCommitBegan.wait()
                began.resume()
            }
        }
        let queued = try await submitQueued([2, 3], to: committer)
        running.cancel()
        ledger.gate.signal()
        await running.value
        #expect(try await first.value == 2)
        #expect(
            await queued.value.allSatisfy {
                if case .failure(let error) = $0 { error is GroupCommitterError } else { false }
            })
        #expect(ledger.batches.withLock { $0 } == [[1]])
    }
}
