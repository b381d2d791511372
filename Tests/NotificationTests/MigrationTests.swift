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

    @Test(
        """
        a database of the previous version takes vetting notices: its notices keep their numbers and read marks, \
        none is given out again, and a notice names whom it is about
        """
    )
    func upgradeTakesVettingNotices() async throws {
        // Given a database of the previous version with two notices, the first read, the second deleted
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-vetting-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try NotificationStore.migrator.migrate(queue, upTo: "4: opaque alert and notice sequences")
        try await queue.write { db in
            for (event, read) in [("e1", 1_800_000_000_002 as Int64?), ("e2", nil)] {
                try db.execute(
                    sql: """
                        INSERT INTO notice (event_id, practitioner_id, kind, occurred_at, stored_at, read_at) \
                        VALUES (?, 'p-1', ?, 1800000000000, 1800000000001, ?)
                        """, arguments: [event, Contactpoint_V1_SecurityNoticeKind.passwordChanged.rawValue, read])
            }
            try db.execute(sql: "DELETE FROM notice WHERE event_id = 'e2'")
        }
        try queue.close()

        // When this version opens it and stores a vetting notice to an administrator
        let store = try NotificationStore.open(path: path)
        let stored = try await store.store(
            notices: [
                .with {
                    $0.eventID = "e3"
                    $0.practitionerID = "p-1"
                    $0.kind = .vettingLapsesSoon
                    $0.count = 30
                    $0.aboutPractitionerID = "p-2"
                    $0.occurredAtMs = 1_800_000_000_100
                }
            ], now: 1_800_000_000_101)
        #expect(stored.stored == 1)

        // Then the old notice keeps its row and read mark, and the new one is row 3, not row 2 again
        let rows = try await store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT sequence, event_id, read_at, about_practitioner_id FROM notice")
        }
        #expect(rows.map { $0["sequence"] as Int64 } == [1, 3])
        #expect(rows[0]["read_at"] as Int64? == 1_800_000_000_002)
        let notices = try await store.notices(of: "p-1", after: 0, unreadOnly: false, limit: 10)
        #expect(notices.map(\.eventID) == ["e1", "e3"])
        #expect(notices.last?.kind == .vettingLapsesSoon && notices.last?.aboutPractitionerID == "p-2")
    }

    @Test("a database of the previous version keeps its alerts, and names who moves one on from then")
    func upgradeNamesWhoMovedAlertsOn() async throws {
        // Given a database of the previous version with an alert acknowledged by p-gp
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-named-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try NotificationStore.migrator.migrate(queue, upTo: "5: vetting notices")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert (event_id, child_id, recipient_organisation, recipient_practitioner, content, \
                    created_at, state, updated_at, updated_by) \
                    VALUES ('e1', '0000000001', 'org-gp', 'p-gp', x'', 1, 'acknowledged', 2, 'p-gp')
                    """)
        }
        try queue.close()

        // When this version opens it and the alert is moved on by a session that names its holder
        let store = try NotificationStore.open(path: path)
        let before = try await store.writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM alert") }
        let old = NotificationStore.alert(try #require(before))
        #expect(old.state == .acknowledged && old.updatedBy == "p-gp" && old.updatedByName.isEmpty)
        let moved = try await store.update(
            alert: Int64(old.sequence), to: .contactMade, for: [.practitioner("p-gp")], by: "p-gp",
            named: "Dr Priya Shah", now: 3, audit: .init())

        // Then it is named from then on
        #expect(moved.state == .contactMade && moved.updatedByName == "Dr Priya Shah")
    }

    @Test("a database of the previous version finds a child's alerts by child: shielding redacts those stored before")
    func upgradeFindsAlertsByChild() async throws {
        // Given a database of the previous version with an alert that names the flagging school
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-child-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try NotificationStore.migrator.migrate(queue, upTo: "6: who moved an alert on, by name")
        let content = Contactpoint_V1_Alert.with {
            $0.from.organisationName = "Hillside Primary"
            $0.child.postcode = "SW1A 1AA"
        }
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO alert (event_id, child_id, recipient_organisation, content, created_at, state, \
                    updated_at) VALUES ('e1', '0000000001', 'org-gp', ?, 1, 'new', 1)
                    """, arguments: [try content.serializedBytes() as Data])
        }
        try queue.close()

        // When this version opens it and the child's record is shielded
        let store = try NotificationStore.open(path: path)
        let plan = try await store.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT sequence FROM alert WHERE child_id = '0000000001'")
                .map { $0["detail"] as String }
        }
        _ = try await store.take(
            [
                .with {
                    $0.eventID = "e2"
                    $0.change = "record-shielded"
                    $0.childID = "0000000001"
                }
            ], now: 2, alerts: [:])

        // Then the alert is found by its child and names no organisation or postcode
        #expect(plan.joined().contains("alert_by_child"), "\(plan)")
        let stored = try await store.writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM alert") }
        let alert = NotificationStore.alert(try #require(stored))
        #expect(alert.from.organisationName.isEmpty && alert.child.postcode.isEmpty && alert.child.shielded)
    }
}
