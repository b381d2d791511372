import BusTransport
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
    let settings: ServiceSettings
    let logger: Logger

    public init(store: IndexStore, settings: ServiceSettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let transport = try BusClientTransport(config: .init(brokers: settings.brokers, keyPair: settings.keyPair), logger: logger)
        let store = store
        try await withGRPCClient(transport: transport) { client in
            let notification = Contactpoint_V1_Notification.Client(wrapping: client)
            var delivery = OutboxDelivery(
                what: "change events", logger: logger, wakeup: store.changesWritten,
                fetch: { try await store.undeliveredChangeEvents(limit: $0) },
                markDelivered: { try await store.markChangeEventsDelivered(through: $0) })
            delivery.batchSize = 100
            await delivery.run(
                send: { events in
                    var options = CallOptions.defaults
                    options.timeout = .seconds(10)
                    _ = try await notification.deliverChanges(.with { $0.events = events }, options: options)
                },
                isPermanent: { ($0 as? RPCError)?.code == .invalidArgument })
        }
    }
}
