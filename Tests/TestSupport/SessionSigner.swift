public import Authentication
import Foundation
public import GRPCCore
import SecurityPrimitives

/// Signs session tokens as the identity service would, with a key a test's ``SessionVerifier``
/// trusts: a test's practitioners, whatever their roles, organisation and step-up.
public struct SessionSigner: Sendable {
    private let key = Ed25519.PrivateKey.generate()
    public let verifier = SessionVerifier()

    public init() {
        verifier.trust(keys: ["test": key.publicKey])
    }

    /// `authorization` metadata for a session of 15 minutes from now (on the real clock, as the
    /// verifier checks it); `stepUpAt` is when they last entered a TOTP code (Unix seconds).
    public func metadata(
        _ practitioner: String, name: String? = nil, homePostcode: String? = nil, org: String,
        la: String = "E09000033",
        roles: [String] = ["practitioner"], stepUpAt: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> Metadata {
        let seconds = Int64(Date().timeIntervalSince1970)
        let claims = SessionClaims(
            sub: practitioner, name: name, homePostcode: homePostcode, sid: "s-\(practitioner)", org: org, la: la,
            roles: roles, iat: seconds,
            exp: seconds + 900, stepUpAt: stepUpAt)
        let token = try CompactJWS.sign(payload: Array(try JSONEncoder().encode(claims)), keyID: "test", with: key)
        return ["authorization": "Bearer \(token)"]
    }
}
