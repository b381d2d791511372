import Foundation
public import SecurityPrimitives

/// Who is signed in, as the session cookie carries it: identity's session token (the portal calls
/// every service with it, so the services decide what this practitioner may do) and what each
/// page's header shows. Nothing about any child.
struct SignedInPractitioner: Codable, Sendable {
    var token: String
    var practitionerID: String
    var name: String
    var organisationName: String
    var roles: [String]
    /// The sign-in banner: when the previous session started (Unix seconds, 0: none) and the
    /// failed attempts since.
    var previousSessionStartedAt: Int64
    var failedAttemptsSince: UInt32

    /// When the token was issued and when it expires (Unix seconds), from its payload; identity
    /// checked its signature when it granted it, and every service checks it again on each call.
    var tokenLifetime: (issuedAt: Int64, expiresAt: Int64)? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]),
            let times = try? JSONDecoder().decode(TokenTimes.self, from: Data(payload))
        else { return nil }
        return (times.iat, times.exp)
    }

    private struct TokenTimes: Decodable {
        var iat: Int64
        var exp: Int64
    }
}

/// The portal's cookies, none of them readable by script, all `__Host-` (Secure, path /, no
/// domain: set by this origin over HTTPS only):
///
/// - `__Host-cp-session`: ``SignedInPractitioner`` sealed with AES-256-GCM, so a portal instance
///   keeps no state another needs and the cookie can be neither read nor forged outside them.
/// - `__Host-cp-csrf`: a random value; every state-changing form carries an HMAC of it
///   (``csrfToken(for:)``). A new one is set at sign-in and sign-out.
public struct PortalCookies: Sendable {
    static let session = "__Host-cp-session"
    static let csrf = "__Host-cp-csrf"

    private let box: SecretBox
    private let csrfKey: [UInt8]
    private static let sessionContext = Array("contactpoint-portal-session-v1".utf8)

    /// Keys derived from the portal's one 32-byte secret (`portal-cookie.key`).
    public init(secret: [UInt8]) {
        box = SecretBox(key: HMAC.authenticationCode(.sha256, key: secret, message: Array("seal".utf8)))
        csrfKey = HMAC.authenticationCode(.sha256, key: secret, message: Array("csrf".utf8))
    }

    func seal(_ practitioner: SignedInPractitioner) throws -> String {
        Base64URL.encode(try box.seal(Array(try JSONEncoder().encode(practitioner)), context: Self.sessionContext))
    }

    /// The practitioner a session cookie carries, or `nil` for one altered, from another key or
    /// not a session at all.
    func open(_ cookie: String) -> SignedInPractitioner? {
        guard let sealed = Base64URL.decode(cookie), let json = box.open(sealed, context: Self.sessionContext) else {
            return nil
        }
        return try? JSONDecoder().decode(SignedInPractitioner.self, from: Data(json))
    }

    static func newCSRFValue() -> String { Base64URL.encode(SecureRandom.bytes(32)) }

    /// What a form sends back to prove it came from a page this browser was given.
    func csrfToken(for cookieValue: String) -> String {
        Base64URL.encode(HMAC.authenticationCode(.sha256, key: csrfKey, message: Array(cookieValue.utf8)))
    }

    func isValidCSRFToken(_ token: String, for cookieValue: String) -> Bool {
        constantTimeEquals(Array(token.utf8), Array(csrfToken(for: cookieValue).utf8))
    }

    /// The `Set-Cookie` value for `name`: `maxAge` nil for a browser-session cookie, 0 to delete.
    static func header(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        return parts.joined(separator: "; ")
    }
}
