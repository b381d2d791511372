import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import RecordFields
import ServiceRuntime
public import StoreSupport
import Vocabulary

/// Taking change events, and reading and moving alerts on.
extension NotificationStore {
    /// Stores the alerts of each event not taken before, and marks it taken, in one transaction.
    /// `alerts` are each event's alerts by event id (content and recipient, no sequence yet).
    func take(
        _ events: [Contactpoint_V1_IndexChangeEvent], now: Int64, alerts: [String: [Contactpoint_V1_Alert]]
    ) async throws -> (stored: AlertBatch, duplicates: Int) {
        try await writer.write { db in
            var stored = AlertBatch(after: try Self.newestSequence(db))
            var duplicates = 0
            for event in events {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO taken_event (event_id, taken_at) VALUES (?, ?)")
                    .execute(arguments: [event.eventID, now])
                guard db.changesCount == 1 else {
                    duplicates += 1
                    continue
                }
                if event.change == ChangeKind.recordShielded.description {
                    try Self.shieldAlerts(ofChild: event.childID, db)
                }
                for alert in alerts[event.eventID] ?? [] {
                    stored.append(try Self.insert(alert, eventID: event.eventID, now: now, db))
                }
            }
            return (stored, duplicates)
        }
    }

    /// The child's record was shielded: every alert about them already stored, in any inbox,
    /// loses what says where they are (``AlertPlanner/shield(_:)``).
    static func shieldAlerts(ofChild childID: String, _ db: Database) throws {
        let rows = try Row.fetchAll(
            db, sql: "SELECT sequence, content FROM alert WHERE child_id = ?", arguments: [childID])
        for row in rows {
            var content = try Contactpoint_V1_Alert(serializedBytes: row["content"] as Data)
            AlertPlanner.shield(&content)
            try db.execute(
                sql: "UPDATE alert SET content = ? WHERE sequence = ?",
                arguments: [try content.serializedBytes() as Data, row["sequence"] as Int64])
        }
    }

    /// The audience's alerts after `cursor`, oldest first, and the newest sequence of any alert
    /// when they were read: every alert up to it was either among them or not the audience's.
    func alerts(for audience: AlertAudience, after cursor: UInt64, limit: Int) async throws -> (
        alerts: [Contactpoint_V1_Alert], newest: UInt64
    ) {
        try await writer.read { db in
            let condition = audience.condition
            let alerts = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT * FROM alert WHERE \(condition.sql) AND sequence > ? ORDER BY sequence LIMIT ?"),
                arguments: [condition.argument, Int64(cursor), limit]
            ).map(Self.alert)
            return (alerts, try Self.newestSequence(db))
        }
    }

    enum UpdateError: Error, Equatable, RPCErrorConvertible {
        /// The alert's id as callers know it (``alertIDs``), never its sequence.
        case noSuchAlert(String)
        case backwards(from: Contactpoint_V1_AlertState)

        var rpcErrorCode: RPCError.Code {
            switch self {
            case .noSuchAlert: .notFound
            case .backwards: .failedPrecondition
            }
        }

        var rpcErrorMessage: String {
            switch self {
            case .noSuchAlert(let id): "alert_id: no alert \(id) of yours"
            case .backwards(let current): "state: the alert is already \(current.code!); states only move forward"
            }
        }
    }

    /// Moves an alert of one of `audiences` (the first that has it) to `state` (forward only),
    /// with the audit event of the change.
    func update(
        alert id: Int64, to state: Contactpoint_V1_AlertState, for audiences: [AlertAudience], by actor: String,
        named actorName: String?, now: Int64,
        audit: Contactpoint_V1_AuditEvent
    ) async throws -> Contactpoint_V1_Alert {
        try await writer.write { db in
            let found = try audiences.lazy.compactMap { audience in
                let condition = audience.condition
                return try Row.fetchOne(
                    db, sql: "SELECT * FROM alert WHERE sequence = ? AND \(condition.sql)",
                    arguments: [id, condition.argument])
            }.first
            let published = alertIDs.id(ofRow: id)
            guard let row = found else { throw UpdateError.noSuchAlert(published) }
            let current = Self.alert(row)
            guard state.rawValue > current.state.rawValue else { throw UpdateError.backwards(from: current.state) }
            try db.execute(
                sql:
                    "UPDATE alert SET state = ?, updated_at = ?, updated_by = ?, updated_by_name = ? WHERE sequence = ?",
                arguments: [state.code, now, actor, actorName.flatMap { $0.isEmpty ? nil : $0 }, id])
            var event = audit
            event.childIds = [current.childID]
            // Named as the practitioner saw it, so that a review can match the two.
            event.subjectID = published.hasPrefix(alertIDs.prefix) ? published : "alert-\(published)"
            try OutboxTables.appendAudit(event, db)
            return Self.alert(try Row.fetchOne(db, sql: "SELECT * FROM alert WHERE sequence = ?", arguments: [id])!)
        }
    }

    /// Copies every practitioner's alert not acknowledged (still new or read) within `deadline`
    /// of its creation into its organisation's inbox, once. Returns the copies.
    func escalate(createdBefore deadline: Int64, now: Int64) async throws -> AlertBatch {
        try await writer.write { db in
            var copies = AlertBatch(after: try Self.newestSequence(db))
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alert WHERE escalated_at IS NULL AND recipient_practitioner IS NOT NULL AND \
                    created_at < ?
                    AND state IN (?, ?) ORDER BY sequence LIMIT 1000
                    """,
                arguments: [deadline, Contactpoint_V1_AlertState.new.code, Contactpoint_V1_AlertState.read.code])
            for row in due {
                let original = Self.alert(row)
                try db.execute(
                    sql: "UPDATE alert SET escalated_at = ? WHERE sequence = ?", arguments: [now, original.sequence])
                var copy = original
                copy.recipientPractitionerID = ""
                copies.append(
                    try Self.insert(
                        copy, eventID: row["event_id"], now: now, escalatedFrom: Int64(original.sequence), db))
            }
            return copies
        }
    }

    /// Forgets the events taken before `deadline`. An event is delivered again only when the
    /// index did not see the acknowledgement (a crash in between): within seconds, not a day.
    func forgetTakenEvents(takenBefore deadline: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM taken_event WHERE taken_at < ?", arguments: [deadline])
        }
    }

    // MARK: Rows

    private static func newestSequence(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM alert")) ?? 0)
    }

    private static func insert(
        _ draft: Contactpoint_V1_Alert, eventID: String, now: Int64, escalatedFrom: Int64? = nil, _ db: Database
    ) throws -> Contactpoint_V1_Alert {
        var content = draft
        for field in [\Contactpoint_V1_Alert.recipientOrganisationID, \.recipientPractitionerID] {
            content[keyPath: field] = ""
        }
        content.sequence = 0
        content.alertID = ""
        try db.cachedStatement(
            sql: """
                INSERT INTO alert (event_id, child_id, recipient_organisation, recipient_practitioner, content, \
                created_at, state, updated_at,
                    escalated_from)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            eventID, draft.childID, draft.recipientOrganisationID,
            draft.recipientPractitionerID.isEmpty ? nil : draft.recipientPractitionerID,
            try content.serializedBytes() as Data, now, Contactpoint_V1_AlertState.new.code, now, escalatedFrom,
        ])
        // As `alert(_:)` would read it back.
        var stored = draft
        stored.sequence = UInt64(db.lastInsertedRowID)
        stored.alertID = String(db.lastInsertedRowID)
        stored.createdAtMs = now
        stored.state = .new
        stored.updatedAtMs = now
        stored.updatedBy = ""
        stored.escalatedAtMs = 0
        stored.escalatedFrom = escalatedFrom.map(String.init) ?? ""
        return stored
    }

    static func alert(_ row: Row) -> Contactpoint_V1_Alert {
        var alert = (try? Contactpoint_V1_Alert(serializedBytes: row["content"] as Data)) ?? .init()
        let sequence: Int64 = row["sequence"]
        alert.sequence = UInt64(sequence)
        alert.alertID = String(sequence)
        alert.recipientOrganisationID = row["recipient_organisation"]
        alert.recipientPractitionerID = row["recipient_practitioner"] ?? ""
        alert.createdAtMs = row["created_at"]
        alert.state = Contactpoint_V1_AlertState(code: row["state"]) ?? .unspecified
        alert.updatedAtMs = row["updated_at"]
        alert.updatedBy = row["updated_by"] ?? ""
        alert.updatedByName = row["updated_by_name"] ?? ""
        alert.escalatedAtMs = row["escalated_at"] ?? 0
        if let from: Int64 = row["escalated_from"] { alert.escalatedFrom = String(from) }
        return alert
    }
}

extension NotificationStore {
    public var outboxes: Outboxes { Outboxes(writer) }
}
