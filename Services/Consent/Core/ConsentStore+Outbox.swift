public import ContactPointAPI
import Foundation
import GRDB
public import ServiceRuntime

/// The two outboxes. Audit events wait in `audit_outbox` until the audit service has them (then
/// they are deleted: the audit log holds them for good); change events wait in `change_outbox`
/// for the notification service.
extension ConsentStore: AuditOutbox {
    /// Appends audit events of reads and refusals (which change nothing else), in one transaction.
    func appendAuditEvents(_ events: [Contactpoint_V1_AuditEvent]) async throws {
        try await writer.write { db in
            for event in events { try Self.appendAudit(event, db) }
        }
    }

    public func undeliveredAuditEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_AuditEvent)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT sequence, event FROM audit_outbox ORDER BY sequence LIMIT ?", arguments: [limit]).map { row in
                (row["sequence"], try Contactpoint_V1_AuditEvent(serializedBytes: row["event"] as Data))
            }
        }
    }

    public func markAuditEventsDelivered(through sequence: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM audit_outbox WHERE sequence <= ?", arguments: [sequence])
        }
    }

    /// Change events not yet delivered to the notification service, oldest first.
    func undeliveredChangeEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_ConsentChangeEvent)] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, event FROM change_outbox WHERE delivered_at IS NULL ORDER BY sequence LIMIT ?", arguments: [limit]
            ).map { row in
                (row["sequence"], try Contactpoint_V1_ConsentChangeEvent(serializedBytes: row["event"] as Data))
            }
        }
    }

    // MARK: Rows

    static func appendAudit(_ event: Contactpoint_V1_AuditEvent, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO audit_outbox (event) VALUES (?)", arguments: [try event.serializedBytes() as Data])
    }

    /// A change's audit event (naming the child and, as its subject, the consent) and its change event.
    static func appendEvents(
        for record: Contactpoint_V1_ConsentRecord, change: String, by actor: Actor, now: Int64, audit: Contactpoint_V1_AuditEvent,
        _ db: Database
    ) throws {
        var audit = audit
        audit.childIds = [record.childID]
        audit.subjectID = "consent-\(record.consentID)"
        try appendAudit(audit, db)
        let event = Contactpoint_V1_ConsentChangeEvent.with {
            $0.eventID = UUID().uuidString.lowercased()
            $0.occurredAtMs = now
            $0.change = change
            $0.childID = record.childID
            $0.consentID = record.consentID
            $0.scope = record.scope
            $0.practitionerID = actor.practitionerID
            $0.organisationID = actor.organisationID
        }
        try db.execute(sql: "INSERT INTO change_outbox (event) VALUES (?)", arguments: [try event.serializedBytes() as Data])
    }
}
