import ContactPointAPI
import Foundation
import GRDB
import Testing

@testable import Notification

@Suite struct MigrationTests {
    @Test("a database the previous version made upgrades: its notices stay, the change outbox nothing wrote goes")
    func upgradeDropsTheChangeOutbox() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-upgrade-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try NotificationStore.migrator.migrate(queue, upTo: "2: security notices")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO notice (event_id, practitioner_id, kind, occurred_at, stored_at) \
                    VALUES ('e1', 'p-1', ?, 1800000000000, 1800000000001)
                    """, arguments: [Contactpoint_V1_SecurityNoticeKind.passwordChanged.rawValue])
        }
        try queue.close()

        let store = try NotificationStore.open(path: path)
        let kept = try await store.notices(of: "p-1", after: 0, unreadOnly: false, limit: 10)
        #expect(kept.map(\.eventID) == ["e1"])
        let changeOutbox = try await store.writer.read { db in try db.tableExists("change_outbox") }
        let auditOutbox = try await store.writer.read { db in try db.tableExists("audit_outbox") }
        #expect(!changeOutbox && auditOutbox)
    }
}
