import BusTransport
import Foundation
import Logging
import ServiceLifecycle

/// Publishes the identity outbox's events on the bus as they are committed (account changes,
/// authentication decisions), so that subscribers learn of them at once. Publishing is a
/// wake-up: the audit trail's durable copy comes from the outbox itself, which keeps every event.
struct OutboxPublisher: Service {
    let store: IdentityStore
    let publisher: EventPublisher
    let logger: Logger
    var interval: Duration = .milliseconds(200)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let events = try await store.unpublishedEvents(limit: 500)
                for event in events { publisher.publish(topic: event.topic, payload: event.payload) }
                if let last = events.last {
                    try await store.markPublished(through: last.sequence, now: Int64(Date().timeIntervalSince1970))
                }
            } catch {
                logger.error("cannot publish identity events", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
