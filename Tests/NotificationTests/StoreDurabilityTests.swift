import GRDB
import TestSupport
import Testing

@testable import Notification

/// An acknowledged write survives a power cut only if the writer syncs the write-ahead log at
/// every commit: `synchronous=FULL` read back from the connection that writes, as the service
/// opens it (GRDB's pool had quietly set NORMAL).
@Suite struct StoreDurabilityTests {
    @Test("the notification store's writer commits with synchronous=FULL")
    func writerIsFullySynchronous() throws {
        let directory = try TemporaryDirectory(prefix: "notification")
        let store = try NotificationStore.open(path: "\(directory.path)/notification.sqlite")
        let level = try store.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA main.synchronous")
        }
        #expect(level == 2)
    }
}
