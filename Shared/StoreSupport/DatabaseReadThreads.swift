import Foundation
public import GRDB
import NamedThreads

/// Read transactions run on a few threads of their own, for a service's hot reads.
///
/// GRDB's `async` read passes each read from the caller's task to a queue that waits for a free
/// connection, back to Swift's task pool, to that connection's queue and back again: four hand-offs
/// between threads, each a wake-up. Here a read is handed to one of these threads, each with a
/// read-only connection of its own, and its result back to the caller: two hand-offs, and none
/// while a thread finds more reads queued. Reads are not run on the caller's thread: a read that
/// waits for the disk would hold one of Swift's few pool threads.
public final class DatabaseReadThreads: Sendable {
    private let queue = JobQueue()

    /// Opens `count` read-only connections to the pool's database, with its configuration (its
    /// busy timeout waits out the brief exclusive lock of a WAL recovery), and starts a thread for each.
    public init(pool: DatabasePool, count: Int, name: String) throws {
        var configuration = pool.configuration
        configuration.readonly = true
        let started = DispatchGroup()
        for (index, connection) in try (0..<count).map({ _ in
            try DatabaseQueue(path: pool.path, configuration: configuration)
        }).enumerated() {
            started.enter()
            Thread.start(named: "\(name)-read-\(index)") { [queue] in
                started.leave()
                while let job = queue.next() { job(connection) }
            }
        }
        started.wait()
    }

    /// The threads finish the reads queued, then exit.
    deinit { queue.close() }

    /// Runs `body` in a read transaction (a consistent snapshot) on one of the threads.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            queue.add { connection in continuation.resume(with: Result { try connection.read(body) }) }
        }
    }
}

/// The reads waiting for a thread, guarded by `condition`.
private final class JobQueue: @unchecked Sendable {
    typealias Job = @Sendable (DatabaseQueue) -> Void

    private let condition = NSCondition()
    /// Never longer than the reads in flight: a short array's `removeFirst` is cheap.
    private var jobs: [Job] = []
    private var closed = false

    func add(_ job: @escaping Job) {
        condition.lock()
        jobs.append(job)
        condition.unlock()
        condition.signal()
    }

    /// The next job, waiting for one; `nil` once closed and drained.
    func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty {
            if closed { return nil }
            condition.wait()
        }
        return jobs.removeFirst()
    }

    func close() {
        condition.lock()
        closed = true
        condition.unlock()
        condition.broadcast()
    }
}
