import GRDB
import Testing

@testable import Identity

/// An acknowledged write survives a power cut only if the writer syncs the write-ahead log at
/// every commit: `synchronous=FULL` read back from the connection that writes, as the service
/// opens it (GRDB's pool had quietly set NORMAL).
@Suite struct StoreDurabilityTests {
    @Test("the identity store's writer commits with synchronous=FULL")
    func writerIsFullySynchronous() async throws {
        let fixture = try await IdentityFixture.make()
        let level = try await fixture.store.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA main.synchronous")
        }
        #expect(level == 2)
    }
}
