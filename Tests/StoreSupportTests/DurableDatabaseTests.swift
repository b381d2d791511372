import Foundation
import GRDB
import StoreSupport
import TestSupport
import Testing

/// `DurableDatabase` opens a pool whose writer syncs at every commit, and keeps it so.
@Suite struct DurableDatabaseTests {
    @Test(
        """
        GRDB's pool leaves its writer at synchronous=NORMAL whatever prepareDatabase asked for (why \
        DurableDatabase sets it again)
        """
    )
    func poolResetsSynchronous() throws {
        let directory = try TemporaryDirectory(prefix: "durable-database")
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let pool = try DatabasePool(path: "\(directory.path)/plain.sqlite", configuration: configuration)
        #expect(try DurableDatabase.synchronousLevel(of: pool) == 1)
    }

    @Test("a durable database's writer is at FULL after opening, after writes and checkpoints, and after reopening")
    func writerStaysFull() throws {
        let directory = try TemporaryDirectory(prefix: "durable-database")
        let path = "\(directory.path)/test.sqlite"
        do {
            let pool = try DurableDatabase.open(path: path)
            #expect(try DurableDatabase.synchronousLevel(of: pool) == DurableDatabase.fullSynchronous)
            try pool.write { db in
                try db.execute(sql: "CREATE TABLE number (value INTEGER NOT NULL) STRICT")
                try db.execute(sql: "INSERT INTO number (value) VALUES (1)")
            }
            _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            #expect(try DurableDatabase.synchronousLevel(of: pool) == DurableDatabase.fullSynchronous)
        }
        let reopened = try DurableDatabase.open(path: path)
        #expect(try DurableDatabase.synchronousLevel(of: reopened) == DurableDatabase.fullSynchronous)
        #expect(try reopened.read { db in try Int.fetchOne(db, sql: "SELECT value FROM number") } == 1)
    }
}
