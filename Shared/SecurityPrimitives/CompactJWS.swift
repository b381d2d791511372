import Foundation

/// JSON Web Signatures in compact form (RFC 7515) with EdDSA over Ed25519 (RFC 8037): the
/// format of ContactPoint session tokens, so any JOSE library can read them.
///
/// Verification takes the key by the header's `kid` from the keys a verifier trusts, so the
/// signer can rotate keys without downtime: new tokens carry the new `kid` while tokens signed
/// with the old key stay valid, until they expire, wherever the old public key is still trusted.
public enum CompactJWS {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var kid: String
        public var typ: String?
    }

    public enum VerificationError: Error, Equatable, CustomStringConvertible {
        case malformed
        case unsupportedAlgorithm(String)
        case unknownKey(String)
        case badSignature

        public var description: String {
            switch self {
            case .malformed: "not a compact JWS"
            case .unsupportedAlgorithm(let alg): "algorithm \(alg) is not accepted"
            case .unknownKey(let kid): "no trusted key has id \(kid)"
            case .badSignature: "the signature does not verify"
            }
        }
    }

    /// `header.payload.signature`, signed with `key` under the id `keyID`.
    public static func sign(payload: [UInt8], keyID: String, with key: Ed25519.PrivateKey) throws -> String {
        let header = try JSONEncoder().encode(Header(alg: "EdDSA", kid: keyID, typ: "JWT"))
        let signingInput = Base64URL.encode(Array(header)) + "." + Base64URL.encode(payload)
        let signature = try key.signature(for: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The payload of `token` if its signature verifies under the trusted key its `kid` names.
    /// Only EdDSA is accepted, whatever the header claims (no `none`, no algorithm confusion).
    public static func verify(_ token: String, keys: (String) -> Ed25519.PublicKey?) throws(VerificationError)
        -> [UInt8]
    {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else { throw .malformed }
        guard header.alg == "EdDSA" else { throw .unsupportedAlgorithm(header.alg) }
        guard let key = keys(header.kid) else { throw .unknownKey(header.kid) }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }
        return payload
    }
}
