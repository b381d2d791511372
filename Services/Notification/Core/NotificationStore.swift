import ContactPointAPI
import Foundation
import GRDB
import Identifiers
import RecordFields
import StoreSupport

/// The notification database (`notification.sqlite`): the change events already taken (so a
/// redelivery makes nothing twice), the alerts — one per recipient, each with its state —, the
/// practitioners' security notices, and the audit outbox.
///
/// An alert's content (the child, the change, who to contact) is stored as the encoded `Alert` it
/// was made as; its recipient, state and escalation are columns, the only parts that change.
public struct NotificationStore: Sendable {
    let writer: any DatabaseWriter
    /// What alerts' and notices' sequences (the cursors) and ids are given out as: not the
    /// sequences themselves, which would tell how many there are (``OpaqueRowIDs``). The store
    /// works in sequences; the RPCs translate at the edge.
    let alertIDs: OpaqueRowIDs
    let noticeIDs: OpaqueRowIDs

    /// Opens (creating if needed) the database at `path`: WAL, `synchronous=FULL`.
    public static func open(path: String) throws -> NotificationStore {
        // Every follower woken by a flag reads its alerts at once.
        try NotificationStore(DurableDatabase.open(path: path, readers: 16))
    }

    /// The store on `writer`, brought up to the current schema: the database `open(path:)` makes,
    /// or, in tests that are not about durability, one in memory (`DatabaseQueue()`).
    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
        (alertIDs, noticeIDs) = try writer.read { db in
            (
                try OpaqueRowIDKeys.load(kind: "alert", prefix: "alert-", db),
                try OpaqueRowIDKeys.load(kind: "notice", prefix: "notice-", db)
            )
        }
    }

    func isAvailable() async -> Bool { await DurableDatabase.isAvailable(writer) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: events taken, alerts, audit outbox") { db in
            let states = Contactpoint_V1_AlertState.sqlList
            try db.execute(
                sql: """
                    CREATE TABLE taken_event (
                        event_id TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 64),
                        taken_at INTEGER NOT NULL
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE alert (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL,
                        child_id TEXT NOT NULL CHECK (length(child_id) = 10),
                        recipient_organisation TEXT NOT NULL CHECK (length(recipient_organisation) BETWEEN 1 AND 64),
                        -- NULL: the organisation's inbox alone.
                        recipient_practitioner TEXT CHECK (length(recipient_practitioner) BETWEEN 1 AND 64),
                        content BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        state TEXT NOT NULL CHECK (state IN (\(states))),
                        updated_at INTEGER NOT NULL,
                        updated_by TEXT,
                        -- When it was escalated: copied into its organisation's inbox, not acknowledged in time.
                        escalated_at INTEGER,
                        escalated_from INTEGER REFERENCES alert(sequence)
                    ) STRICT;
                    CREATE INDEX alert_by_practitioner ON alert(recipient_practitioner, sequence);
                    CREATE INDEX alert_by_organisation ON alert(recipient_organisation, sequence);
                    CREATE INDEX alert_to_escalate ON alert(created_at) WHERE escalated_at IS NULL AND \
                    recipient_practitioner IS NOT NULL;
                    """)
            try db.execute(sql: OutboxTables.schema)
        }
        migrator.registerMigration("2: security notices") { db in
            // The kinds as of this migration: a kind added later needs a migration widening the CHECK.
            let kinds = Contactpoint_V1_SecurityNoticeKind.allCases.filter { $0 != .unspecified }.map {
                "\($0.rawValue)"
            }.joined(separator: ",")
            try db.execute(
                sql: """
                    CREATE TABLE notice (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 64),
                        practitioner_id TEXT NOT NULL CHECK (length(practitioner_id) BETWEEN 1 AND 64),
                        kind INTEGER NOT NULL CHECK (kind IN (\(kinds))),
                        occurred_at INTEGER NOT NULL,
                        count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
                        actor_id TEXT CHECK (length(actor_id) BETWEEN 1 AND 64),
                        stored_at INTEGER NOT NULL,
                        read_at INTEGER
                    ) STRICT;
                    CREATE INDEX notice_by_practitioner ON notice(practitioner_id, sequence);
                    """)
        }
        migrator.registerMigration("3: no change outbox") { db in
            // The notification service sends no change events: the table OutboxTables made with the
            // audit outbox was never written or read.
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM change_outbox") == 0 else {
                throw DatabaseError(message: "change_outbox holds events that nothing would deliver")
            }
            try db.execute(sql: "DROP TABLE change_outbox")
        }
        migrator.registerMigration("4: opaque alert and notice sequences") { db in
            try OpaqueRowIDKeys.create(kind: "alert", rowsOf: "alert", column: "sequence", db)
            try OpaqueRowIDKeys.create(kind: "notice", rowsOf: "notice", column: "sequence", db)
        }
        migrator.registerMigration("5: vetting notices") { db in
            // SQLite cannot widen a CHECK in place: the table is made again with the kinds of now
            // and the column naming whom an administrator's notice is about. Sequences are kept,
            // and AUTOINCREMENT's high mark with them, so none is given out again.
            let kinds = Contactpoint_V1_SecurityNoticeKind.allCases.filter { $0 != .unspecified }.map {
                "\($0.rawValue)"
            }.joined(separator: ",")
            try db.execute(
                sql: """
                    CREATE TABLE notice_new (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 64),
                        practitioner_id TEXT NOT NULL CHECK (length(practitioner_id) BETWEEN 1 AND 64),
                        kind INTEGER NOT NULL CHECK (kind IN (\(kinds))),
                        occurred_at INTEGER NOT NULL,
                        count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
                        actor_id TEXT CHECK (length(actor_id) BETWEEN 1 AND 64),
                        stored_at INTEGER NOT NULL,
                        read_at INTEGER,
                        about_practitioner_id TEXT CHECK (length(about_practitioner_id) BETWEEN 1 AND 64)
                    ) STRICT;
                    INSERT INTO notice_new (sequence, event_id, practitioner_id, kind, occurred_at, count, actor_id, \
                    stored_at, read_at)
                        SELECT sequence, event_id, practitioner_id, kind, occurred_at, count, actor_id, stored_at, \
                        read_at FROM notice;
                    DELETE FROM sqlite_sequence WHERE name = 'notice_new';
                    INSERT INTO sqlite_sequence (name, seq) SELECT 'notice_new', seq FROM sqlite_sequence \
                    WHERE name = 'notice';
                    DROP TABLE notice;
                    ALTER TABLE notice_new RENAME TO notice;
                    CREATE INDEX notice_by_practitioner ON notice(practitioner_id, sequence);
                    """)
        }
        migrator.registerMigration("6: who moved an alert on, by name") { db in
            // Alerts moved on before it show the practitioner's id alone.
            try db.execute(
                sql:
                    "ALTER TABLE alert ADD COLUMN updated_by_name TEXT CHECK (length(updated_by_name) BETWEEN 1 AND 200)"
            )
        }
        migrator.registerMigration("7: alerts by child") { db in
            // A shielded child's alerts are found and redacted in every inbox at once.
            try db.execute(sql: "CREATE INDEX alert_by_child ON alert(child_id)")
        }
        return migrator
    }
}

extension Contactpoint_V1_AlertState: StoredCode {
    public var code: String? {
        switch self {
        case .new: "new"
        case .read: "read"
        case .acknowledged: "acknowledged"
        case .contactMade: "contact-made"
        default: nil
        }
    }
}
