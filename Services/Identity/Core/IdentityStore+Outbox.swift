import Foundation
import GRDB

/// The outbox: events for the audit trail and the bus, written with the changes they record.
extension IdentityStore {
    /// An authentication decision for the audit trail (`subject` is `nil` for an unknown account).
    func recordAuthenticationEvent(kind: String, subject: String?, reason: String?, now: Int64) async throws {
        try await writer.write { db in
            try Self.appendEvent(db, topic: "identity/\(kind)", subject: subject, reason: reason, now: now)
        }
    }

    /// Events not yet published on the bus, oldest first.
    func unpublishedEvents(limit: Int) async throws -> [(sequence: Int64, topic: String, payload: [UInt8])] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT sequence, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY sequence LIMIT ?",
                arguments: [limit]
            ).map { ($0["sequence"], $0["topic"], Array($0["payload"] as Data)) }
        }
    }

    func markPublished(through sequence: Int64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE outbox SET published_at = ? WHERE published_at IS NULL AND sequence <= ?",
                arguments: [now, sequence])
        }
    }
}
