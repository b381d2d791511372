import ContactPointAPI
import Foundation
import GRDB

/// Security notices: stored once per identity event, read and marked read by their practitioner.
extension NotificationStore {
    /// Stores each notice not stored before (by event id), in one transaction.
    func store(notices: [Contactpoint_V1_SecurityNotice], now: Int64) async throws -> (stored: Int, duplicates: Int) {
        try await writer.write { db in
            var stored = 0
            for notice in notices {
                try db.cachedStatement(
                    sql: """
                        INSERT OR IGNORE INTO notice (event_id, practitioner_id, kind, occurred_at, count, actor_id, \
                        stored_at, about_practitioner_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    notice.eventID, notice.practitionerID, notice.kind.rawValue, notice.occurredAtMs,
                    Int64(notice.count),
                    notice.actorID.isEmpty ? nil : notice.actorID, now,
                    notice.aboutPractitionerID.isEmpty ? nil : notice.aboutPractitionerID,
                ])
                stored += db.changesCount
            }
            return (stored, notices.count - stored)
        }
    }

    /// The practitioner's notices after `cursor`, oldest first.
    func notices(of practitioner: String, after cursor: UInt64, unreadOnly: Bool, limit: Int) async throws
        -> [Contactpoint_V1_SecurityNotice]
    {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM notice WHERE practitioner_id = ? AND sequence > ? \
                    \(unreadOnly ? "AND read_at IS NULL" : "")
                    ORDER BY sequence LIMIT ?
                    """,
                arguments: [practitioner, Int64(cursor), limit]
            ).map { row in
                .with {
                    $0.sequence = UInt64(row["sequence"] as Int64)
                    $0.eventID = row["event_id"]
                    $0.practitionerID = row["practitioner_id"]
                    $0.kind = Contactpoint_V1_SecurityNoticeKind(rawValue: row["kind"]) ?? .unspecified
                    $0.occurredAtMs = row["occurred_at"]
                    $0.count = UInt32(row["count"] as Int64)
                    $0.actorID = row["actor_id"] ?? ""
                    $0.readAtMs = row["read_at"] ?? 0
                    $0.aboutPractitionerID = row["about_practitioner_id"] ?? ""
                }
            }
        }
    }

    /// Marks the practitioner's unread notices up to `sequence` read; returns how many.
    func markNoticesRead(of practitioner: String, through sequence: UInt64, now: Int64) async throws -> Int {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE notice SET read_at = ? WHERE practitioner_id = ? AND sequence <= ? AND read_at IS NULL",
                arguments: [now, practitioner, Int64(clamping: sequence)])
            return db.changesCount
        }
    }
}
