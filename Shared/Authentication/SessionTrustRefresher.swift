public import ContactPointAPI
public import GRPCCore
public import Logging
import SecurityPrimitives
public import ServiceLifecycle

/// Keeps a service's ``SessionVerifier`` current: asks the identity service every
/// ``interval`` for its published signing keys and the sessions ended since the last look, so
/// that a logout or a suspension is refused everywhere within one interval (2 s by default; the
/// requirement is 5 s), and a rotated key is trusted before its first token arrives.
///
/// If the identity service cannot be reached, the verifier keeps what it had: tokens stay
/// verifiable, and revocations are applied as soon as it answers again. A failed refresh is
/// retried soon (``pause(afterFailures:trusted:)``), not after a whole interval; an outage is
/// logged when it starts and when it ends, not once per attempt.
public struct SessionTrustRefresher<Transport: ClientTransport>: Service {
    public let identity: Contactpoint_V1_Identity.Client<Transport>
    public let verifier: SessionVerifier
    public var interval: Duration = .seconds(2)
    let logger: Logger

    public init(identity: Contactpoint_V1_Identity.Client<Transport>, verifier: SessionVerifier, logger: Logger) {
        self.identity = identity
        self.verifier = verifier
        self.logger = logger
    }

    public func run() async throws {
        var since: Int64 = 0
        var trusted = false
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                since = try await refresh(since: since)
                if failures > 0, trusted {
                    logger.notice("session trust refreshed from identity again", metadata: ["attempts": "\(failures)"])
                }
                (trusted, failures) = (true, 0)
            } catch {
                failures += 1
                if failures == 1, trusted {
                    logger.warning(
                        "cannot refresh session trust from identity; retrying", metadata: ["error": "\(error)"])
                }
            }
            let pause = Self.pause(afterFailures: failures, trusted: trusted, interval: interval)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    /// How long to wait before the next refresh. Until the first answer no session can be
    /// verified, and after a failure revocations may be waiting: ask again soon (100 ms,
    /// doubling), never later than the interval.
    static func pause(afterFailures failures: Int, trusted: Bool, interval: Duration) -> Duration {
        guard trusted else { return min(interval, .milliseconds(100)) }
        guard failures > 0 else { return interval }
        return min(interval, .milliseconds(100) * (1 << min(failures - 1, 16)))
    }

    /// One refresh: trusts the published keys and revokes sessions ended at or after `since`.
    /// Returns the `since` for the next refresh.
    public func refresh(since: Int64) async throws -> Int64 {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        let published = try await identity.publicKeys(.init(), options: options)
        var keys: [String: Ed25519.PublicKey] = [:]
        for key in published.keys { keys[key.keyID] = try Ed25519.PublicKey(rawRepresentation: Array(key.ed25519)) }
        verifier.trust(keys: keys)
        let ended = try await identity.endedSessions(.with { $0.since = since }, options: options)
        return verifier.revoke(ended: ended.sessions.map { ($0.sessionID, $0.endedAt) }, since: since)
    }
}
