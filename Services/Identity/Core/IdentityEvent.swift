import ContactPointAPI
import Foundation
import GRDB
import Identifiers
import StoreSupport
import Timekeeping
import Vocabulary

/// What identity records of an account change or an authentication decision, in the
/// transaction of the change: its audit event (`audit_outbox`, for the audit trail) and, when the
/// practitioner is to be told, its security notice (`change_outbox`, for the notification
/// service) — the shared outbox design (``OutboxTables``) every service uses.
struct IdentityEvent: Sendable, Equatable {
    var eventID = EventID.make()
    var action: AuditAction
    /// The account (or organisation) concerned; `nil` for an unknown account's login.
    var subject: String?
    /// The administrator who acted; `nil` when the practitioner acted themselves.
    var actor: String?
    /// Why an attempt failed, in words ("wrong code").
    var reason: String?
    /// Failed attempts since the last login (on `session-started`).
    var count: Int?
    /// When the session before this one started, in seconds (on `session-started`).
    var previousSession: Int64?
    /// When it happened, in seconds (identity's unit).
    var at: Int64

    /// Appends the event's audit event and, if it makes one, its security notice.
    func append(_ db: Database) throws {
        try OutboxTables.appendAudit(auditEvent, db)
        if let notice { try OutboxTables.appendChange(notice, db) }
    }

    /// Actions whose event is a refusal.
    static let deniedActions: Set<AuditAction> = [
        .loginFailed, .loginRefused, .stepUpFailed, .passwordChangeFailed, .accountLocked,
    ]

    /// The event as the audit trail records it: the account concerned, the administrator who
    /// acted (or, for a login, the account that tried), the outcome.
    var auditEvent: Contactpoint_V1_AuditEvent {
        .with {
            $0.eventID = eventID
            $0.occurredAtMs = Instant(seconds: at).milliseconds
            $0.action = action.description
            $0.category = actor == nil ? .authentication : .administration
            $0.actor.practitionerID = actor ?? subject ?? ""
            $0.subjectID = subject ?? ""
            $0.service = action.service
            $0.outcome = Self.deniedActions.contains(action) ? .denied : .permitted
            if let reason {
                // "wrong password" → "wrong-password": a code, as the audit log takes it.
                $0.outcomeReason = String(
                    reason.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(60))
            }
        }
    }

    /// The security notice the practitioner is told of, if any (``SecurityNotices``).
    var notice: Contactpoint_V1_SecurityNotice? {
        guard let practitioner = subject, let kind = SecurityNotices.kind(of: self) else { return nil }
        return .with {
            $0.eventID = eventID
            $0.practitionerID = practitioner
            $0.kind = kind
            $0.occurredAtMs = Instant(seconds: at).milliseconds
            switch kind {
            case .signedInAfterFailures: $0.count = UInt32(clamping: count ?? 0)
            case .signedInAfterLongAbsence:
                $0.count = UInt32(clamping: (at - (previousSession ?? at)) / SecurityNotices.secondsPerDay)
            case .vettingLapsesSoon: $0.count = UInt32(clamping: count ?? 0)
            default: break
            }
            if let actor, actor != practitioner { $0.actorID = actor }
        }
    }
}

extension IdentityEvent {
    /// An event of the outbox table identity kept before the shared design (migration 4): its
    /// topic was the action, its payload JSON. `nil` for a topic no version wrote.
    init?(legacyRow row: Row) {
        struct Payload: Decodable {
            var subject: String?
            var actor: String?
            var reason: String?
            var count: Int?
            var previousSession: Int64?

            enum CodingKeys: String, CodingKey {
                case subject, actor, reason, count
                case previousSession = "previous_session"
            }
        }
        guard let action = AuditAction(row["topic"] as String) else { return nil }
        let payload = (try? JSONDecoder().decode(Payload.self, from: row["payload"] as Data))
        self.init(
            eventID: row["event_id"], action: action, subject: payload?.subject, actor: payload?.actor,
            reason: payload?.reason, count: payload?.count, previousSession: payload?.previousSession,
            at: row["created_at"])
    }
}

extension AuditAction {
    /// An account moved to `status` by an administrator (or an auditor suspending it).
    init(status: AccountStatus) {
        switch status {
        case .active: self = .accountActive
        case .suspended: self = .accountSuspended
        case .closed, .inactive: self = .accountClosed
        }
    }
}
