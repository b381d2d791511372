import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import Logging
import ServiceLifecycle
import ServiceRuntime
import Timekeeping

/// Which identity events a practitioner is told of, as security notices in their inbox at the
/// notification service (ASVS 5.0 6.3.5 suspicious attempts, 6.3.7 changes to authentication
/// details): attempts that show someone has the password or has seen a code, a login after
/// several failures or a long absence, and every change to the account's credentials or status.
/// Ordinary mistakes — one wrong password — are not notices: the practitioner sees those at their
/// next login (``IdentityStore/SignInHistory``).
enum SecurityNotices {
    /// A login after at least this many failed attempts is a notice.
    static let failuresWorthANotice = 3
    /// A login at least this long after the previous session started is a notice (seconds).
    static let absenceWorthANotice: Int64 = 90 * 86_400

    /// The notice an outbox event makes, if any.
    static func notice(eventID: String, topic: String, payload: OutboxPayload, createdAt: Int64)
        -> Contactpoint_V1_SecurityNotice?
    {
        guard let practitioner = payload.subject, let kind = kind(topic: topic, payload: payload, createdAt: createdAt)
        else { return nil }
        return .with {
            $0.eventID = eventID
            $0.practitionerID = practitioner
            $0.kind = kind
            $0.occurredAtMs = Instant(seconds: createdAt).milliseconds
            switch kind {
            case .signedInAfterFailures: $0.count = UInt32(clamping: payload.count ?? 0)
            case .signedInAfterLongAbsence:
                $0.count = UInt32(clamping: (createdAt - (payload.previousSession ?? createdAt)) / 86_400)
            default: break
            }
            if let actor = payload.actor, actor != practitioner { $0.actorID = actor }
        }
    }

    private static func kind(topic: String, payload: OutboxPayload, createdAt: Int64)
        -> Contactpoint_V1_SecurityNoticeKind?
    {
        switch topic {
        case "identity/login-failed":
            switch payload.reason {
            case "wrong code": .passwordRightCodeWrong
            case "replayed code": .codeReplayed
            default: nil
            }
        case "identity/session-started":
            if (payload.count ?? 0) >= failuresWorthANotice {
                .signedInAfterFailures
            } else if let previous = payload.previousSession, createdAt - previous >= absenceWorthANotice {
                .signedInAfterLongAbsence
            } else {
                nil
            }
        case "identity/account-locked": .accountLocked
        case "identity/account-unlocked": .accountUnlocked
        case "identity/password-changed": .passwordChanged
        case "identity/password-change-failed": .passwordChangeFailed
        case "identity/credentials-reset": .credentialsReset
        case "identity/step-up-failed": .stepUpFailed
        case "identity/account-suspended": .accountSuspended
        case "identity/account-active": .accountActive
        default: nil
        }
    }
}

/// The fields of an identity outbox event's payload (``IdentityStore/appendEvent``).
struct OutboxPayload: Decodable, Sendable {
    var subject: String?
    var actor: String?
    var reason: String?
    var count: Int?
    /// When the session before this one started (on `session-started`).
    var previousSession: Int64?

    private enum CodingKeys: String, CodingKey {
        case subject, actor, reason, count
        case previousSession = "previous_session"
    }

    init(_ payload: Data) {
        self = (try? JSONDecoder().decode(Self.self, from: payload)) ?? Self()
    }

    private init() {}
}

extension IdentityStore {
    /// Outbox events not yet turned into notices, oldest first, each with the notice it makes (if any).
    func unnoticedEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_SecurityNotice?)] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    """
                    SELECT sequence, event_id, topic, payload, created_at FROM outbox WHERE noticed_at IS NULL \
                    ORDER BY sequence LIMIT ?
                    """,
                arguments: [limit]
            ).map { row in
                (
                    row["sequence"],
                    SecurityNotices.notice(
                        eventID: row["event_id"], topic: row["topic"], payload: OutboxPayload(row["payload"]),
                        createdAt: row["created_at"])
                )
            }
        }
    }

    func markNoticed(through sequence: Int64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE outbox SET noticed_at = ? WHERE noticed_at IS NULL AND sequence <= ?",
                arguments: [now, sequence])
        }
    }
}

/// Delivers the identity outbox's security notices to the notification service until
/// acknowledged (``OutboxDelivery``): at least once, in order; the notification service is
/// idempotent by event id. While it is down, notices wait in the outbox.
struct NoticeForwarder: Service {
    let store: IdentityStore
    let client: ServiceBusClient
    let logger: Logger

    func run() async throws {
        let store = store
        let notification = Contactpoint_V1_Notification.Client(wrapping: client)
        let delivery = OutboxDelivery(
            what: "security notices", logger: logger, fetch: { try await store.unnoticedEvents(limit: $0) },
            markDelivered: { try await store.markNoticed(through: $0, now: Int64(Date().timeIntervalSince1970)) })
        await delivery.run(
            send: { events in
                let notices = events.compactMap { $0 }
                guard !notices.isEmpty else { return }
                var options = CallOptions.defaults
                options.timeout = .seconds(10)
                _ = try await notification.deliverNotices(.with { $0.notices = notices }, options: options)
            },
            isPermanent: { ($0 as? RPCError)?.code == .invalidArgument })
    }
}
