import ContactPointAPI
import Foundation
import GRDB
import Identifiers
public import StoreSupport
import Vocabulary

/// The two outboxes (``OutboxTables``): audit events for the audit trail, change events
/// (`ConsentChangeEvent`) for the notification service.
extension ConsentStore {
    public var outboxes: Outboxes { Outboxes(writer) }

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
