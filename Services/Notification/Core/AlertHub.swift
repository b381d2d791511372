import ContactPointAPI
import Foundation
import ServiceRuntime
import Synchronization

/// The live subscribers of this instance: each is woken when an alert of its audience is stored
/// here, and reads it from the database (so a subscriber never sees what it may not, and its
/// cursor decides what it has seen). Alerts stored by another instance reach it at its next poll.
public final class AlertHub: Sendable {
    private let subscribers = Mutex<[UUID: (audience: AlertAudience, wakeup: Wakeup)]>([:])
    /// Each subscriber holds one of the instance's worker sessions for as long as it follows: the
    /// rest stay free for deliveries and reads.
    let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// `nil` when `capacity` subscribers follow already.
    func register(_ audience: AlertAudience, _ wakeup: Wakeup) -> UUID? {
        let id = UUID()
        return subscribers.withLock { subscribers in
            guard subscribers.count < capacity else { return nil }
            subscribers[id] = (audience, wakeup)
            return id
        }
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
