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
/// verifiable, and revocations are applied as soon as it answers again.
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
        // Until the first answer no session can be verified, so ask again soon rather than
        // after a whole interval (the identity service may be starting too).
        var trusted = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                since = try await refresh(since: since)
                trusted = true
            } catch {
                if trusted {
                    logger.warning("cannot refresh session trust from identity", metadata: ["error": "\(error)"])
                }
            }
            let pause = trusted ? interval : .milliseconds(100)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
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
