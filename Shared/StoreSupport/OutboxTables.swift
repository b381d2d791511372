public import ContactPointAPI
import Foundation
public import GRDB
public import SwiftProtobuf

/// The two outboxes a service keeps in its own database, written in the transaction of the change
/// they record: `audit_outbox` (encoded `AuditEvent`s) and `change_outbox` (encoded change events
/// for the notification service). Each event is deleted once its receiver has acknowledged it:
/// the audit log keeps audit events for good, and a change event, which names children and
/// practitioners, has no reason to stay once it has made its alerts.
public enum OutboxTables {
    /// The tables, for a service's first migration.
    public static let schema = """
        -- Audit events (encoded contactpoint.v1.AuditEvent) until the audit service has them.
        CREATE TABLE audit_outbox (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            event BLOB NOT NULL
        ) STRICT;
        -- Change events (encoded protobuf messages) for the notification service.
        CREATE TABLE change_outbox (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            event BLOB NOT NULL
        ) STRICT;
        """

    public static func appendAudit(_ event: Contactpoint_V1_AuditEvent, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO audit_outbox (event) VALUES (?)").execute(arguments: [
            try event.serializedBytes() as Data
        ])
    }

    /// Up to `limit` audit events, oldest first, with their sequence numbers.
    public static func undeliveredAudit(limit: Int, _ db: Database) throws -> [(
        sequence: Int64, event: Contactpoint_V1_AuditEvent
    )] {
        try Row.fetchAll(
            db, sql: "SELECT sequence, event FROM audit_outbox ORDER BY sequence LIMIT ?", arguments: [limit]
        ).map { row in
            (row["sequence"], try Contactpoint_V1_AuditEvent(serializedBytes: row["event"] as Data))
        }
    }

    public static func deleteAudit(through sequence: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM audit_outbox WHERE sequence <= ?", arguments: [sequence])
    }

    public static func appendChange(_ event: some SwiftProtobuf.Message, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO change_outbox (event) VALUES (?)").execute(arguments: [
            try event.serializedBytes() as Data
        ])
    }

    /// Up to `limit` change events not yet delivered, oldest first, with their sequence numbers.
    public static func undeliveredChanges<Event: SwiftProtobuf.Message>(
        limit: Int, _ db: Database, as _: Event.Type = Event.self
    ) throws -> [(sequence: Int64, event: Event)] {
        try Row.fetchAll(
            db, sql: "SELECT sequence, event FROM change_outbox ORDER BY sequence LIMIT ?", arguments: [limit]
        ).map { row in (row["sequence"], try Event(serializedBytes: row["event"] as Data)) }
    }

    public static func deleteChanges(through sequence: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM change_outbox WHERE sequence <= ?", arguments: [sequence])
    }
}
