public import ContactPointAPI
import Foundation
import GRDB
public import ServiceRuntime
import StoreSupport

/// The two outboxes (``OutboxTables``): access and change events for the audit trail, change
/// events (`IndexChangeEvent`) for the notification service.
extension IndexStore: AuditOutbox {
    /// The group commit of access events into the audit outbox (run it as a companion service).
    public func disclosureCommitter(maximumBatch: Int = 2048) -> GroupCommitter<Contactpoint_V1_AuditEvent, Void> {
        GroupCommitter(maximumBatch: maximumBatch) { events in
            try await appendAuditEvents(events)
            return events.map { _ in () }
        }
    }

    /// Appends access events in one transaction: the group commit of disclosures. Returns once
    /// they are durable, which is before any of the data they describe is sent.
    func appendAuditEvents(_ events: [Contactpoint_V1_AuditEvent]) async throws {
        try await writer.write { db in
            for event in events { try OutboxTables.appendAudit(event, db) }
        }
    }

    public func undeliveredAuditEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_AuditEvent)] {
        try await writer.read { db in try OutboxTables.undeliveredAudit(limit: limit, db) }
    }

    public func markAuditEventsDelivered(through sequence: Int64) async throws {
        try await writer.write { db in try OutboxTables.deleteAudit(through: sequence, db) }
    }

    /// Change events not yet delivered to the notification service, oldest first.
    func undeliveredChangeEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_IndexChangeEvent)] {
        try await writer.read { db in try OutboxTables.undeliveredChanges(limit: limit, db) }
    }

    // MARK: Rows

    /// Appends a change's audit event naming the child and, as its subject, the involvement.
    static func appendAudit(_ event: Contactpoint_V1_AuditEvent, childID: Int64, involvementID: Int64?, _ db: Database) throws {
        var event = event
        event.childIds = [Self.childID(childID)]
        if let involvementID { event.subjectID = "involvement-\(involvementID)" }
        try OutboxTables.appendAudit(event, db)
    }

    static func appendChange(
        _ change: String, childID: Int64, involvementID: Int64, organisationID: String, serviceType: Contactpoint_V1_ServiceType,
        indicator: Contactpoint_V1_IndicatorKind = .unspecified, by practitionerID: String, now: Int64, _ db: Database
    ) throws {
        let event = Contactpoint_V1_IndexChangeEvent.with {
            $0.eventID = UUID().uuidString.lowercased()
            $0.occurredAtMs = now
            $0.change = change
            $0.childID = Self.childID(childID)
            $0.involvementID = String(involvementID)
            $0.organisationID = organisationID
            $0.serviceType = serviceType
            $0.indicator = indicator
            $0.practitionerID = practitionerID
        }
        try OutboxTables.appendChange(event, db)
    }
}
