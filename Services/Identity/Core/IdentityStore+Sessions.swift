import ContactPointAPI
import Foundation
import GRDB
import StoreSupport
import Vocabulary

/// Sessions: started at login, refreshed, ended by logout, suspension or the practitioner.
extension IdentityStore {
    /// What a practitioner is told at login about the account since their last session.
    struct SignInHistory: Sendable, Equatable {
        /// When the previous session started (`nil`: this is the first).
        var previousSessionStartedAt: Int64?
        /// Failed attempts since the last successful login.
        var failedAttempts: Int
        /// The practitioner's security notices still on their way to the notification service
        /// (this login's own among them), by event id: a count of unread notices taken now at
        /// the notification service would miss them.
        var noticesOnTheirWay: [String] = []
    }

    /// Starts a session after a successful login: resets the failure count, ends the oldest live
    /// sessions beyond `maximumSessions`, and returns the history before this session for the
    /// practitioner to see.
    /// `gatewayID`: the agency gateway the session is granted through, if any.
    func startSession(
        id: String, practitionerID: String, now: Int64, idleExpiry: Int64, absoluteExpiry: Int64, maximumSessions: Int,
        gatewayID: String? = nil
    ) async throws -> SignInHistory {
        try await writer.write { db in
            var history = SignInHistory(
                previousSessionStartedAt: try Int64.fetchOne(
                    db, sql: "SELECT max(started_at) FROM session WHERE practitioner_id = ?",
                    arguments: [practitionerID]),
                failedAttempts: try Int.fetchOne(
                    db, sql: "SELECT failed_logins FROM practitioner WHERE id = ?", arguments: [practitionerID]) ?? 0)
            try db.execute(
                sql: "UPDATE practitioner SET failed_logins = 0, throttled_until = 0 WHERE id = ?",
                arguments: [practitionerID])
            try db.execute(
                sql: """
                    INSERT INTO session (id, practitioner_id, started_at, absolute_expiry, idle_expiry, step_up_at, \
                    gateway_id) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, practitionerID, now, absoluteExpiry, idleExpiry, now, gatewayID])
            try db.execute(
                sql: """
                    UPDATE session SET ended_at = ?, end_reason = 'too many sessions'
                    WHERE id IN (
                        SELECT id FROM session WHERE practitioner_id = ? AND ended_at IS NULL AND idle_expiry > ? AND \
                        absolute_expiry > ?
                        ORDER BY started_at DESC, rowid DESC LIMIT -1 OFFSET ?)
                    """,
                arguments: [now, practitionerID, now, now, maximumSessions])
            try Self.appendEvent(
                db, .sessionStarted, subject: practitionerID, count: history.failedAttempts,
                previousSession: history.previousSessionStartedAt, now: now)
            history.noticesOnTheirWay = try OutboxTables.undeliveredChanges(
                limit: 1_000, db, as: Contactpoint_V1_SecurityNotice.self
            ).compactMap { $0.event.practitionerID == practitionerID ? $0.event.eventID : nil }
            return history
        }
    }

    /// The enrolment code hash and its expiry, for an account still waiting to enrol.

    struct SessionRecord: Sendable, Equatable {
        var id: String
        var practitionerID: String
        var startedAt: Int64
        var absoluteExpiry: Int64
        var idleExpiry: Int64
        var stepUpAt: Int64?
        var endedAt: Int64?
    }

    func session(id: String) async throws -> SessionRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM session WHERE id = ?", arguments: [id]).map(Self.sessionRecord)
        }
    }

    static func sessionRecord(_ row: Row) -> SessionRecord {
        SessionRecord(
            id: row["id"], practitionerID: row["practitioner_id"], startedAt: row["started_at"],
            absoluteExpiry: row["absolute_expiry"],
            idleExpiry: row["idle_expiry"], stepUpAt: row["step_up_at"], endedAt: row["ended_at"])
    }

    /// Extends a live session's idle expiry (never past its absolute expiry), and records a
    /// step-up when given. `false` if the session has ended or expired.
    func touchSession(id: String, now: Int64, idleExpiry: Int64, stepUp: Bool) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE session SET idle_expiry = min(?, absolute_expiry), step_up_at = CASE WHEN ? THEN ? ELSE \
                    step_up_at END
                    WHERE id = ? AND ended_at IS NULL AND idle_expiry > ? AND absolute_expiry > ?
                    """,
                arguments: [idleExpiry, stepUp, now, id, now, now])
            return db.changesCount == 1
        }
    }

    /// A practitioner's sessions that have neither ended nor expired at `now`, newest first.
    func liveSessions(practitionerID: String, now: Int64) async throws -> [SessionRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM session WHERE practitioner_id = ? AND ended_at IS NULL AND idle_expiry > ? AND \
                    absolute_expiry > ?
                    ORDER BY started_at DESC
                    """,
                arguments: [practitionerID, now, now]
            ).map(Self.sessionRecord)
        }
    }

    /// Ends the named sessions of one practitioner (never another's); returns how many ended.
    func endSessions(_ ids: [String], of practitionerID: String, reason: String, now: Int64) async throws -> Int {
        try await writer.write { db in
            var ended = 0
            for id in ids {
                try db.execute(
                    sql:
                        """
                        UPDATE session SET ended_at = ?, end_reason = ? WHERE id = ? AND practitioner_id = ? AND \
                        ended_at IS NULL
                        """,
                    arguments: [now, reason, id, practitionerID])
                ended += db.changesCount
            }
            return ended
        }
    }

    /// Ends a session (logout).
    func endSession(id: String, reason: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE session SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                arguments: [now, reason, id])
        }
    }

    /// Sessions ended at or after `since`, oldest first: what verifiers in other services must
    /// stop accepting before the tokens' own expiry.
    func endedSessions(since: Int64) async throws -> [(sessionID: String, endedAt: Int64)] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, ended_at FROM session WHERE ended_at >= ? ORDER BY ended_at", arguments: [since]
            )
            .map { ($0["id"], $0["ended_at"]) }
        }
    }

    /// Changes an account's status: suspend an active one, reactivate a suspended one, close any.
    /// Suspending or closing ends every session it has. A closed account stays closed.
    static func endSessions(_ db: Database, of practitionerID: String, reason: String, now: Int64) throws {
        try db.execute(
            sql: "UPDATE session SET ended_at = ?, end_reason = ? WHERE practitioner_id = ? AND ended_at IS NULL",
            arguments: [now, reason, practitionerID])
    }

}
