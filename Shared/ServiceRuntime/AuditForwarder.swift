import BusTransport
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

/// Delivers a service's outbox to the audit service by RPC until acknowledged: at least once,
/// in order, and — the audit log being idempotent by event id — exactly once in the log. When
/// the audit service cannot be reached, events wait in the outbox (nothing is lost) and delivery
/// is retried with backoff; a stopped service catches up when it starts again.
public struct AuditForwarder: Service {
    let outbox: any AuditOutbox
    let settings: ServiceSettings
    let logger: Logger
    var batchSize = 500
    var idleInterval: Duration = .milliseconds(200)
    var initialBackoff: Duration = .milliseconds(250)
    var maximumBackoff: Duration = .seconds(30)

    public init(outbox: any AuditOutbox, settings: ServiceSettings, logger: Logger) {
        self.outbox = outbox
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        let transport = try BusClientTransport(config: .init(brokers: settings.brokers, keyPair: settings.keyPair), logger: logger)
        try await withGRPCClient(transport: transport) { client in
            let audit = Contactpoint_V1_Audit.Client(wrapping: client)
            await deliver { events in
                var options = CallOptions.defaults
                options.timeout = .seconds(10)
                _ = try await audit.append(.with { $0.events = events }, options: options)
            }
        }
    }

    /// The delivery loop, until graceful shutdown or cancellation: a batch is marked delivered
    /// only after `append` returned, so a failure anywhere means it is sent again.
    func deliver(_ append: ([Contactpoint_V1_AuditEvent]) async throws -> Void) async {
        var backoff = initialBackoff
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var pause = idleInterval
            do {
                let batch = try await outbox.undeliveredAuditEvents(limit: batchSize)
                if let last = batch.last {
                    try await append(batch.map { entry in
                        var event = entry.event
                        if event.instance.isEmpty { event.instance = settings.instance }
                        return event
                    })
                    try await outbox.markAuditEventsDelivered(through: last.sequence)
                    if batch.count == batchSize { pause = .zero }
                }
                if failures > 0 { logger.notice("audit events delivered again", metadata: ["audit.failures": "\(failures)"]) }
                failures = 0
                backoff = initialBackoff
            } catch let error as RPCError where error.code == .invalidArgument {
                // A bug in this service's events: never skipped (the trail must be whole), so loud.
                failures += 1
                logger.error("the audit service rejects an outbox event; delivery is stuck", metadata: ["error": "\(error)"])
                pause = maximumBackoff
            } catch {
                failures += 1
                // The first failure and then every tenth: the audit service may be down a while.
                if failures % 10 == 1 {
                    logger.warning("cannot deliver audit events; they wait in the outbox", metadata: ["error": "\(error)"])
                }
                pause = backoff
                backoff = min(backoff * 2, maximumBackoff)
            }
            let wait = pause
            if wait > .zero { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } }
        }
    }
}
