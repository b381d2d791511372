import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import Logging
import ServiceLifecycle
import ServiceRuntime
import StoreSupport
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
    static let absenceWorthANotice: Int64 = 90 * secondsPerDay

    static let secondsPerDay: Int64 = 86_400

    /// The kind of notice an event makes, if any.
    static func kind(of event: IdentityEvent) -> Contactpoint_V1_SecurityNoticeKind? {
        switch event.action {
        case .loginFailed:
            switch event.reason {
            case "wrong code": .passwordRightCodeWrong
            case "replayed code": .codeReplayed
            case let reason? where reason.hasPrefix(Authenticator.passkeyRefused): .passwordRightPasskeyRefused
            default: nil
            }
        case .sessionStarted:
            if (event.count ?? 0) >= failuresWorthANotice {
                .signedInAfterFailures
            } else if let previous = event.previousSession, event.at - previous >= absenceWorthANotice {
                .signedInAfterLongAbsence
            } else {
                nil
            }
        case .accountLocked: .accountLocked
        case .accountUnlocked: .accountUnlocked
        case .passwordChanged: .passwordChanged
        case .passwordChangeFailed: .passwordChangeFailed
        case .credentialsReset: .credentialsReset
        case .stepUpFailed: .stepUpFailed
        case .accountSuspended: .accountSuspended
        case .accountActive: .accountActive
        case .vettingLapsesSoon: .vettingLapsesSoon
        case .vettingLapsed: .vettingLapsed
        case .passkeyAdded: .passkeyAdded
        case .passkeyRemoved: .passkeyRemoved
        default: nil
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
            what: "security notices", logger: logger,
            fetch: { try await store.outboxes.undeliveredChanges(limit: $0, as: Contactpoint_V1_SecurityNotice.self) },
            markDelivered: { try await store.outboxes.markChangesDelivered(through: $0) })
        await delivery.run(
            send: { notices in
                var options = CallOptions.defaults
                options.timeout = .seconds(10)
                _ = try await notification.deliverNotices(.with { $0.notices = notices }, options: options)
            },
            isPermanent: { ($0 as? RPCError)?.code == .invalidArgument })
    }
}
