import ContactPointAPI
import Foundation
public import ServiceLifecycle
import ServiceRuntime
import Synchronization

/// The alerts one transaction stored: every alert with a sequence in (`after`, `through`].
struct AlertBatch: Sendable {
    /// The newest sequence before the transaction.
    var after: UInt64
    var alerts: [Contactpoint_V1_Alert] = []
    var through: UInt64 { alerts.last?.sequence ?? after }

    init(after: UInt64) { self.after = after }

    mutating func append(_ alert: Contactpoint_V1_Alert) { alerts.append(alert) }
    var count: Int { alerts.count }
}

/// The live subscribers of this instance. Each batch of alerts stored here is handed to every
/// subscriber, and those with alerts in it are woken: a subscriber that has considered every
/// alert up to the batch's start takes its own alerts from the batch without reading the
/// database; any other reads the database from its cursor (so it never misses one, and never
/// sees what is not its audience's). Alerts stored by another instance reach a subscriber at the
/// next tick: run the hub as a companion service and it wakes every subscriber every
/// `pollInterval`.
public final class AlertHub: Service {
    final class Subscriber: Sendable {
        let audience: AlertAudience
        let wakeup = Wakeup()
        private let mailbox = Mutex<(batches: [AlertBatch], overflowed: Bool)>(([], false))
        /// Batches held for a subscriber not yet woken before it must read the database instead.
        static let mailboxLimit = 256

        init(audience: AlertAudience) { self.audience = audience }

        func post(_ batch: AlertBatch) {
            mailbox.withLock { mailbox in
                if mailbox.batches.count < Self.mailboxLimit {
                    mailbox.batches.append(batch)
                } else {
                    mailbox.overflowed = true
                }
            }
        }

        /// The batches posted since the last call, in order, and whether any had to be dropped.
        func takeBatches() -> (batches: [AlertBatch], overflowed: Bool) {
            mailbox.withLock { mailbox in
                defer { mailbox = ([], false) }
                return (mailbox.batches.sorted { $0.after < $1.after }, mailbox.overflowed)
            }
        }
    }

    private let subscribers = Mutex<[UUID: Subscriber]>([:])
    /// Each subscriber holds one of the instance's worker sessions for as long as it follows: the
    /// rest stay free for deliveries and reads.
    let capacity: Int
    let pollInterval: Duration

    public init(capacity: Int, pollInterval: Duration = .seconds(1)) {
        self.capacity = capacity
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let interval = pollInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.wakeup.signal() }
        }
    }

    /// `nil` when `capacity` subscribers follow already.
    func register(_ audience: AlertAudience) -> (id: UUID, subscriber: Subscriber)? {
        let id = UUID()
        let subscriber = Subscriber(audience: audience)
        return subscribers.withLock { subscribers in
            guard subscribers.count < capacity else { return nil }
            subscribers[id] = subscriber
            return (id, subscriber)
        }
    }

    func unregister(_ id: UUID) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }

    func publish(_ batch: AlertBatch) {
        guard !batch.alerts.isEmpty else { return }
        for subscriber in subscribers.withLock({ Array($0.values) }) {
            subscriber.post(batch)
            if batch.alerts.contains(where: subscriber.audience.contains) { subscriber.wakeup.signal() }
        }
    }
}
