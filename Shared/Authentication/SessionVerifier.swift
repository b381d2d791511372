import Foundation
public import SecurityPrimitives
import Synchronization
public import Timekeeping

/// Verifies session tokens locally, in every service: signature under one of the identity
/// service's published keys (by `kid`; several may be trusted at once, so keys rotate without
/// downtime), issuer, expiry, and that the session has not been revoked.
///
/// Revocations (logout, suspension, closure) reach it through ``revoke(sessionIDs:)``, fed by
/// whatever follows the identity service's ended sessions; a revoked session is refused from
/// then on, whatever its token's expiry.
///
/// A token's signature is checked once: its claims are remembered (up to ``cacheLimit``
/// tokens, forgotten when the trusted keys change), so the calls after the first pay only the
/// expiry and revocation checks.
public final class SessionVerifier: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        case expired
        case revoked

        public var description: String {
            switch self {
            case .invalid(let reason): "the session token is not valid: \(reason)"
            case .expired: "the session has expired"
            case .revoked: "the session has ended"
            }
        }
    }

    private struct State {
        var keys: [String: Ed25519.PublicKey] = [:]
        var revoked: Set<String> = []
        var verified: [String: SessionClaims] = [:]
    }

    public let cacheLimit = 10_000

    private let state = Mutex(State())
    private let clock: WallClock
    /// Tolerated clock difference between the identity service and this one.
    public let allowedSkew: Int64

    public init(
        allowedSkew: Int64 = 30, clock: WallClock = .system
    ) {
        self.allowedSkew = allowedSkew
        self.clock = clock
    }

    /// Replaces the trusted keys with those the identity service publishes now.
    public func trust(keys: [String: Ed25519.PublicKey]) {
        state.withLock { state in
            if state.keys != keys { state.verified.removeAll() }
            state.keys = keys
        }
    }

    public func revoke(sessionIDs: some Sequence<String>) {
        state.withLock { $0.revoked.formUnion(sessionIDs) }
    }

    /// Revokes sessions reported ended at or after `since` and returns the `since` for the next
    /// report: a few seconds before the newest end seen, so that a session ended while this
    /// report was on its way is not missed (revoking twice is harmless).
    public func revoke(ended: [(sessionID: String, endedAt: Int64)], since: Int64) -> Int64 {
        revoke(sessionIDs: ended.map(\.sessionID))
        return max(since, (ended.map(\.endedAt).max() ?? since) - 5)
    }

    /// Whether the session has been reported ended (for a call that outlives its verification,
    /// such as a stream of alerts).
    public func isRevoked(sessionID: String) -> Bool { state.withLock { $0.revoked.contains(sessionID) } }

    public func verify(_ token: String) throws(Failure) -> SessionClaims {
        let (keys, remembered) = state.withLock { ($0.keys, $0.verified[token]) }
        let claims: SessionClaims
        if let remembered {
            claims = remembered
        } else {
            claims = try verifySignature(token, keys: keys)
        }
        let now = clock.now.seconds
        guard claims.iat <= now + allowedSkew else { throw .invalid("issued in the future") }
        guard now < claims.exp else { throw .expired }
        let revoked = state.withLock { state in
            if remembered == nil {
                if state.verified.count >= cacheLimit { state.verified.removeAll() }
                state.verified[token] = claims
            }
            return state.revoked.contains(claims.sid)
        }
        guard !revoked else { throw .revoked }
        return claims
    }

    private func verifySignature(_ token: String, keys: [String: Ed25519.PublicKey]) throws(Failure) -> SessionClaims {
        let payload: [UInt8]
        do {
            payload = try CompactJWS.verify(token, keys: { keys[$0] })
        } catch {
            throw .invalid(error.description)
        }
        guard let claims = try? JSONDecoder().decode(SessionClaims.self, from: Data(payload)) else {
            throw .invalid("the claims are malformed")
        }
        guard claims.iss == SessionClaims.issuer else { throw .invalid("issued by \(claims.iss)") }
        return claims
    }
}
