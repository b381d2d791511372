public import ContactPointAPI
public import GRDB
public import ServiceRuntime
public import SwiftProtobuf

/// A service database's two outboxes (``OutboxTables``) as the runtime uses them: the access-event
/// committer appends to the audit outbox, the forwarders read each outbox and delete what their
/// receiver has acknowledged. Every store with outboxes hands out one of these rather than
/// repeating the queries.
public struct Outboxes: AuditOutbox, AuditEventStore {
    let writer: any DatabaseWriter

    public init(_ writer: any DatabaseWriter) { self.writer = writer }

    /// Appends audit events of reads and refusals (which change nothing else) in one transaction,
    /// returning once they are durable, which is before any data they describe is sent.
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

    /// Up to `limit` change events not yet delivered, oldest first, with their sequence numbers.
    public func undeliveredChanges<Event: SwiftProtobuf.Message>(
        limit: Int, as _: Event.Type = Event.self
    ) async throws -> [(sequence: Int64, event: Event)] {
        try await writer.read { db in try OutboxTables.undeliveredChanges(limit: limit, db) }
    }

    public func markChangesDelivered(through sequence: Int64) async throws {
        try await writer.write { db in try OutboxTables.deleteChanges(through: sequence, db) }
    }
}
