import GRDB
import Testing

@testable import Audit

/// An acknowledged write survives a power cut only if the writer syncs the write-ahead log at
/// every commit: `synchronous=FULL` read back from the connection that writes, as the service
/// opens it (GRDB's pool had quietly set NORMAL).
@Suite struct StoreDurabilityTests {
    @Test("the audit store's writer commits with synchronous=FULL")
    func writerIsFullySynchronous() throws {
        let fixture = try AuditFixture()
        let level = try fixture.store.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA main.synchronous")
        }
        #expect(level == 2)
        // The query index is rebuilt from the log on start: it may lag, so it syncs only at checkpoints.
        let index = try fixture.store.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA idx.synchronous")
        }
        #expect(index == 1)
    }
}
