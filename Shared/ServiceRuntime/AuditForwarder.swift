public import ContactPointAPI
import GRPCCore
public import Logging
public import ServiceLifecycle

/// A service's outbox as the audit trail reads it: events committed with the changes they
/// record, kept until the audit service has acknowledged them.
public protocol AuditOutbox: Sendable {
    /// Up to `limit` events not yet delivered, oldest first, each with its outbox sequence number.
    func undeliveredAuditEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_AuditEvent)]
    /// Marks every event up to `sequence` as delivered.
    func markAuditEventsDelivered(through sequence: Int64) async throws
}

/// Delivers a service's outbox to the audit service by RPC until acknowledged (``OutboxDelivery``):
/// at least once, in order, and — the audit log being idempotent by event id — exactly once in
/// the log. A stopped service catches up when it starts again.
public struct AuditForwarder: Service {
    let outbox: any AuditOutbox
    let client: ServiceBusClient
    /// This instance's name, given to events that name none.
    let instance: String
    let logger: Logger
    var batchSize = 500
    var idleInterval: Duration = .milliseconds(200)
    var initialBackoff: Duration = .milliseconds(250)
    var maximumBackoff: Duration = .seconds(30)

    public init(outbox: any AuditOutbox, client: ServiceBusClient, instance: String, logger: Logger) {
        self.outbox = outbox
        self.client = client
        self.instance = instance
        self.logger = logger
    }

    public func run() async throws {
        let audit = Contactpoint_V1_Audit.Client(wrapping: client)
        await deliver { events in
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            _ = try await audit.append(.with { $0.events = events }, options: options)
        }
    }

    /// The delivery loop (``OutboxDelivery``), until graceful shutdown or cancellation.
    func deliver(_ append: @escaping ([Contactpoint_V1_AuditEvent]) async throws -> Void) async {
        let outbox = outbox
        var delivery = OutboxDelivery(
            what: "audit events", logger: logger, fetch: { try await outbox.undeliveredAuditEvents(limit: $0) },
            markDelivered: { try await outbox.markAuditEventsDelivered(through: $0) })
        delivery.batchSize = batchSize
        delivery.idleInterval = idleInterval
        delivery.initialBackoff = initialBackoff
        delivery.maximumBackoff = maximumBackoff
        let instance = instance
        await delivery.run(
            send: { events in
                try await append(
                    events.map { event in
                        var event = event
                        if event.instance.isEmpty { event.instance = instance }
                        return event
                    })
            },
            // A bug in this service's events: never skipped (the trail must be whole), so loud.
            isPermanent: { ($0 as? RPCError)?.code == .invalidArgument })
    }
}
