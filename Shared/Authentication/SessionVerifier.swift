import Foundation
public import SecurityPrimitives
import Synchronization

/// Verifies session tokens locally, in every service: signature under one of the identity
/// service's published keys (by `kid`; several may be trusted at once, so keys rotate without
/// downtime), issuer, expiry, and that the session has not been revoked.
///
/// Revocations (logout, suspension, closure) reach it through ``revoke(sessionIDs:)``, fed by
/// whatever follows the identity service's ended sessions; a revoked session is refused from
/// then on, whatever its token's expiry.
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
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64
    /// Tolerated clock difference between the identity service and this one.
    public let allowedSkew: Int64

    public init(allowedSkew: Int64 = 30, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.allowedSkew = allowedSkew
        self.clock = clock
    }

    /// Replaces the trusted keys with those the identity service publishes now.
    public func trust(keys: [String: Ed25519.PublicKey]) {
        state.withLock { $0.keys = keys }
    }

    public func revoke(sessionIDs: some Sequence<String>) {
        state.withLock { $0.revoked.formUnion(sessionIDs) }
    }

    public func verify(_ token: String) throws(Failure) -> SessionClaims {
        let keys = state.withLock { $0.keys }
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
        let now = clock()
        guard claims.iat <= now + allowedSkew else { throw .invalid("issued in the future") }
        guard now < claims.exp else { throw .expired }
        guard !state.withLock({ $0.revoked.contains(claims.sid) }) else { throw .revoked }
        return claims
    }
}
