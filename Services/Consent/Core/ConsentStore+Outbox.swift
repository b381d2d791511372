public import ContactPointAPI
import Foundation
import GRDB
import Identifiers
public import ServiceRuntime
import StoreSupport
import Vocabulary

/// The two outboxes (``OutboxTables``): audit events for the audit trail, change events
/// (`ConsentChangeEvent`) for the notification service.
extension ConsentStore: AuditOutbox, AuditEventStore {
    /// Appends audit events of reads and refusals (which change nothing else), in one transaction.
    public func appendAuditEvents(_ events: [Contactpoint_V1_AuditEvent]) throws {
        try writer.write { db in
            for event in events { try OutboxTables.appendAudit(event, db) }
        }
    }

    public func undeliveredAuditEvents(limit: Int) async throws -> [(
        sequence: Int64, event: Contactpoint_V1_AuditEvent
    )] {
        try await writer.read { db in try OutboxTables.undeliveredAudit(limit: limit, db) }
    }

    public func markAuditEventsDelivered(through sequence: Int64) async throws {
        try await writer.write { db in try OutboxTables.deleteAudit(through: sequence, db) }
    }

    /// Change events not yet delivered to the notification service, oldest first.
    func undeliveredChangeEvents(limit: Int) async throws -> [(
        sequence: Int64, event: Contactpoint_V1_ConsentChangeEvent
    )] {
        try await writer.read { db in try OutboxTables.undeliveredChanges(limit: limit, db) }
    }

    /// A change's audit event (naming the child and, as its subject, the consent) and its change event.
    static func appendEvents(
        for record: Contactpoint_V1_ConsentRecord, change: ChangeKind, by actor: Actor, now: Int64,
        audit: Contactpoint_V1_AuditEvent,
        _ db: Database
    ) throws {
        var audit = audit
        audit.childIds = [record.childID]
        audit.subjectID = "consent-\(record.consentID)"
        try OutboxTables.appendAudit(audit, db)
        try OutboxTables.appendChange(
            Contactpoint_V1_ConsentChangeEvent.with {
                $0.eventID = EventID.make()
                $0.occurredAtMs = now
                $0.change = change.description
                $0.childID = record.childID
                $0.consentID = record.consentID
                $0.scope = record.scope
                $0.practitionerID = actor.practitionerID
                $0.organisationID = actor.organisationID
            }, db)
    }
}
