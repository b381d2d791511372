public import Logging
import ServiceLifecycle

/// The loop that empties an outbox by RPC until each batch is acknowledged: at least once and in
/// order (the receiver is idempotent by event id, so exactly once in effect). A batch is marked
/// delivered only after `send` returned, so a failure anywhere means it is sent again; while the
/// receiver cannot be reached, events wait in the outbox and delivery is retried with backoff.
public struct OutboxDelivery<Event: Sendable>: Sendable {
    public var batchSize = 500
    /// How long to wait for new events when the outbox is empty (a ``Wakeup`` ends the wait early).
    public var idleInterval: Duration = .milliseconds(200)
    public var initialBackoff: Duration = .milliseconds(250)
    public var maximumBackoff: Duration = .seconds(30)
    /// What is delivered where, for the log: "audit events", say.
    let what: String
    let logger: Logger
    let fetch: @Sendable (_ limit: Int) async throws -> [(sequence: Int64, event: Event)]
    let markDelivered: @Sendable (_ through: Int64) async throws -> Void
    let wakeup: Wakeup?

    public init(
        what: String, logger: Logger, wakeup: Wakeup? = nil,
        fetch: @escaping @Sendable (Int) async throws -> [(sequence: Int64, event: Event)],
        markDelivered: @escaping @Sendable (Int64) async throws -> Void
    ) {
        self.what = what
        self.logger = logger
        self.wakeup = wakeup
        self.fetch = fetch
        self.markDelivered = markDelivered
    }

    /// Runs until graceful shutdown or cancellation. A receiver that refuses a batch as invalid
    /// (`isPermanent`) is logged as an error and retried slowly: events are never skipped.
    public func run(send: ([Event]) async throws -> Void, isPermanent: (any Error) -> Bool = { _ in false }) async {
        var backoff = initialBackoff
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var pause = idleInterval
            do {
                let batch = try await fetch(batchSize)
                if let last = batch.last {
                    try await send(batch.map(\.event))
                    try await markDelivered(last.sequence)
                    if batch.count == batchSize { pause = .zero }
                }
                if failures > 0 {
                    logger.notice("\(what) delivered again", metadata: ["outbox.failures": "\(failures)"])
                }
                failures = 0
                backoff = initialBackoff
            } catch  where isPermanent(error) {
                failures += 1
                logger.error(
                    "the receiver rejects \(what) from the outbox; delivery is stuck", metadata: ["error": "\(error)"])
                pause = maximumBackoff
            } catch {
                failures += 1
                // The first failure and then every tenth: the receiver may be down a while.
                if failures % 10 == 1 {
                    logger.warning("cannot deliver \(what); they wait in the outbox", metadata: ["error": "\(error)"])
                }
                pause = backoff
                backoff = min(backoff * 2, maximumBackoff)
            }
            guard pause > .zero else { continue }
            if let wakeup, failures == 0 {
                await wakeup.wait(upTo: pause)
            } else {
                let wait = pause
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
        }
    }
}
