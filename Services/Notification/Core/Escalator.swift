import Foundation
import Logging
import ServiceLifecycle
import Timekeeping

/// Escalates alerts not acknowledged in time into their organisation's inbox, every `interval`,
/// and wakes the organisation's subscribers; and forgets the ids of change events taken more than
/// a day before (kept only to recognise a redelivery).
struct Escalator: Service {
    let store: NotificationStore
    let hub: AlertHub
    /// How long a practitioner has to acknowledge an alert.
    let after: Duration
    let interval: Duration
    let clock: WallClock
    let logger: Logger

    /// One round: the copies made.
    @discardableResult
    func escalateDue() async throws -> Int {
        let now = clock.now
        let copies = try await store.escalate(createdBefore: (now - after).milliseconds, now: now.milliseconds)
        hub.publish(copies)
        try await store.forgetTakenEvents(takenBefore: (now - .seconds(24 * 3600)).milliseconds)
        return copies.count
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let escalated = try await escalateDue()
                if escalated > 0 {
                    logger.notice(
                        "alerts escalated to organisations' inboxes",
                        metadata: ["notification.escalated": "\(escalated)"])
                }
            } catch {
                logger.warning("cannot escalate alerts now", metadata: ["error": "\(error)"])
            }
            let wait = interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }
}
