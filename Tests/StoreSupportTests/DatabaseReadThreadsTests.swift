import Foundation
import GRDB
import StoreSupport
import TestSupport
import Testing

@Suite struct DatabaseReadThreadsTests {
    let directory: TemporaryDirectory
    let pool: DatabasePool

    init() throws {
        directory = try TemporaryDirectory(prefix: "read-threads")
        pool = try DurableDatabase.open(path: "\(directory.path)/test.sqlite")
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE number (value INTEGER NOT NULL) STRICT")
            for value in 1...100 { try db.execute(sql: "INSERT INTO number (value) VALUES (?)", arguments: [value]) }
        }
    }

    /// The names of this process's threads, as the kernel has them (at most 15 characters).
    static func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8).trimmingCharacters(
                in: .newlines)
        }
    }

    @Test func manyReadsAtOnceAllAnsweredOnTheNamedThreads() async throws {
        let reads = try DatabaseReadThreads(pool: pool, count: 2, name: "rt-many")
        let results = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
            for limit in 1...200 {
                group.addTask {
                    try await reads.read { db in
                        let sum = try Int.fetchOne(
                            db, sql: "SELECT SUM(value) FROM (SELECT value FROM number ORDER BY value LIMIT ?)",
                            arguments: [limit % 100 + 1])!
                        return (
                            limit, sum,
                            try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8).trimmingCharacters(
                                in: .newlines)
                        )
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 200)
        for (limit, sum, _) in results {
            let n = limit % 100 + 1
            #expect(sum == n * (n + 1) / 2)
        }
        #expect(Set(results.map(\.2)).isSubset(of: ["rt-many-read-0", "rt-many-read-1"]))
        #expect(try Self.threadNames().filter { $0.hasPrefix("rt-many-read-") }.count == 2)
    }

    @Test func aFailedReadThrowsItsErrorAndTheThreadsGoOn() async throws {
        let reads = try DatabaseReadThreads(pool: pool, count: 1, name: "rt-error")
        await #expect(throws: DatabaseError.self) {
            try await reads.read { db in try Int.fetchOne(db, sql: "SELECT value FROM no_such_table") }
        }
        #expect(try await reads.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM number") } == 100)
    }

    @Test func aReadSeesWhatWasCommittedBeforeItStarted() async throws {
        let reads = try DatabaseReadThreads(pool: pool, count: 2, name: "rt-commit")
        try await pool.write { db in try db.execute(sql: "INSERT INTO number (value) VALUES (1000)") }
        #expect(try await reads.read { db in try Int.fetchOne(db, sql: "SELECT MAX(value) FROM number") } == 1000)
    }

    @Test func aReadIsOneSnapshotThoughAWriteCommitsDuringIt() async throws {
        let reads = try DatabaseReadThreads(pool: pool, count: 1, name: "rt-snapshot")
        let (before, during, after) = try await reads.read { [pool] db in
            let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM number")!
            try pool.write { db in try db.execute(sql: "INSERT INTO number (value) VALUES (7)") }
            let during = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM number")!
            return (before, during, try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM number")! })
        }
        #expect(before == 100 && during == 100 && after == 101)
        #expect(try await reads.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM number") } == 101)
    }

    @Test func theThreadsExitOnceTheReadThreadsAreGone() async throws {
        var reads: DatabaseReadThreads? = try DatabaseReadThreads(pool: pool, count: 3, name: "rt-exit")
        _ = try await reads?.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
        #expect(try Self.threadNames().filter { $0.hasPrefix("rt-exit-read-") }.count == 3)
        reads = nil
        try await eventually("the read threads exit", every: .milliseconds(10)) {
            try !Self.threadNames().contains(where: { $0.hasPrefix("rt-exit-read-") })
        }
    }
}
