import ContactPointAPI
import Foundation
import GRDB
import ServiceRuntime
import Timekeeping

/// The identity outbox as the audit trail reads it: each event as an audit event — the account
/// concerned, the administrator who acted (or, for a login, the account that tried), the outcome.
extension IdentityStore: AuditOutbox {
    func undeliveredAuditEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_AuditEvent)] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    """
                    SELECT sequence, event_id, topic, payload, created_at FROM outbox WHERE delivered_at IS NULL \
                    ORDER BY sequence LIMIT ?
                    """,
                arguments: [limit]
            ).map { row in (row["sequence"], Self.auditEvent(row)) }
        }
    }

    func markAuditEventsDelivered(through sequence: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE outbox SET delivered_at = ? WHERE delivered_at IS NULL AND sequence <= ?",
                arguments: [Int64(Date().timeIntervalSince1970), sequence])
        }
    }

    /// Topics whose event is a refusal.
    private static let deniedTopics: Set<String> = [
        "identity/login-failed", "identity/login-refused", "identity/step-up-failed", "identity/password-change-failed",
        "identity/account-locked",
    ]

    static func auditEvent(_ row: Row) -> Contactpoint_V1_AuditEvent {
        let payload = OutboxPayload(row["payload"])
        let topic: String = row["topic"]
        let subject = payload.subject ?? ""
        let actor = payload.actor
        return .with {
            $0.eventID = row["event_id"]
            $0.occurredAtMs = Instant(seconds: row["created_at"]).milliseconds
            $0.action = topic
            $0.category = actor == nil ? .authentication : .administration
            $0.actor.practitionerID = actor ?? subject
            $0.subjectID = subject
            $0.service = "identity"
            let denied = deniedTopics.contains(topic)
            $0.outcome = denied ? .denied : .permitted
            if let reason = payload.reason {
                // "wrong password" → "wrong-password": a code, as the audit log takes it.
                $0.outcomeReason = String(
                    reason.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(60))
            }
        }
    }
}
