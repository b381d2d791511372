import ContactPointAPI
import Foundation
import ServiceRuntime
import Synchronization

/// The live subscribers of this instance: each is woken when an alert of its audience is stored
/// here, and reads it from the database (so a subscriber never sees what it may not, and its
/// cursor decides what it has seen). Alerts stored by another instance reach it at its next poll.
final class AlertHub: Sendable {
    private let subscribers = Mutex<[UUID: (audience: AlertAudience, wakeup: Wakeup)]>([:])

    func register(_ audience: AlertAudience, _ wakeup: Wakeup) -> UUID {
        let id = UUID()
        subscribers.withLock { $0[id] = (audience, wakeup) }
        return id
    }

    func unregister(_ id: UUID) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }

    func publish(_ alerts: [Contactpoint_V1_Alert]) {
        guard !alerts.isEmpty else { return }
        let woken = subscribers.withLock { subscribers in
            subscribers.values.filter { subscriber in alerts.contains(where: subscriber.audience.contains) }.map(\.wakeup)
        }
        for wakeup in woken { wakeup.signal() }
    }
}
