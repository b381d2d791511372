import ContactPointAPI
import Foundation
import GRPCCore
public import Logging
public import ServiceLifecycle
public import ServiceRuntime

/// Delivers the index's change outbox to the notification service by RPC until acknowledged
/// (``OutboxDelivery``), woken as soon as a change is committed. When the notification service is
/// down the events wait; it catches up when it is back. The notification service is idempotent by
/// event id, so a batch sent again makes no alert twice.
public struct ChangeForwarder: Service {
    let store: IndexStore
    let client: ServiceBusClient
    let logger: Logger

    /// The most bytes of events one DeliverChanges call carries (the broker's default limit is 8 MiB).
    static let maximumCallBytes = 1 << 20

    /// `events` in order, cut into runs of at most `maximumBytes` (an event larger alone goes alone).
    static func chunks(of events: [Contactpoint_V1_IndexChangeEvent], maximumBytes: Int) throws
        -> [[Contactpoint_V1_IndexChangeEvent]]
    {
        var chunks: [[Contactpoint_V1_IndexChangeEvent]] = []
        var bytes = 0
        for event in events {
            let size = (try event.serializedBytes() as [UInt8]).count
            if chunks.isEmpty || bytes + size > maximumBytes {
                chunks.append([])
                bytes = 0
            }
            chunks[chunks.count - 1].append(event)
            bytes += size
        }
        return chunks
    }

    public init(store: IndexStore, client: ServiceBusClient, logger: Logger) {
        self.store = store
        self.client = client
        self.logger = logger
    }

    public func run() async throws {
        let store = store
        let notification = Contactpoint_V1_Notification.Client(wrapping: client)
        var delivery = OutboxDelivery(
            what: "change events", logger: logger, wakeup: store.changesWritten,
            fetch: {
                try await store.outboxes.undeliveredChanges(limit: $0, as: Contactpoint_V1_IndexChangeEvent.self)
            },
            markDelivered: { try await store.outboxes.markChangesDelivered(through: $0) })
        delivery.batchSize = 100
        await delivery.run(
            send: { events in
                var options = CallOptions.defaults
                options.timeout = .seconds(10)
                // An event names every agency involved with the child: keep each call well under the broker's
                // message limit.
                for chunk in try Self.chunks(of: events, maximumBytes: Self.maximumCallBytes) {
                    _ = try await notification.deliverChanges(.with { $0.events = chunk }, options: options)
                }
            },
            isPermanent: { ($0 as? RPCError)?.code == .invalidArgument })
    }
}
