import ContactPointAPI
import GRDB
import StoreSupport
import Vocabulary

/// The outboxes (``OutboxTables``): audit events for the audit trail, security notices for the
/// notification service, each written with the change it records (``IdentityEvent``).
extension IdentityStore {
    var outboxes: Outboxes { Outboxes(writer) }

    /// An authentication decision for the audit trail (`subject` is `nil` for an unknown account).
    func recordAuthenticationEvent(_ action: AuditAction, subject: String?, reason: String?, now: Int64) async throws {
        try await writer.write { db in try Self.appendEvent(db, action, subject: subject, reason: reason, now: now) }
    }

    /// Records `action` in the transaction of `db` (``IdentityEvent``).
    static func appendEvent(
        _ db: Database, _ action: AuditAction, subject: String?, actor: String? = nil, reason: String? = nil,
        count: Int? = nil, previousSession: Int64? = nil, now: Int64
    ) throws {
        try IdentityEvent(
            action: action, subject: subject, actor: actor, reason: reason, count: count,
            previousSession: previousSession, at: now
        ).append(db)
    }
}
