import Foundation
public import SecurityPrimitives

/// A relying party's checks of WebAuthn Level 3 (§7.1 registration, §7.2 authentication), for
/// ContactPoint's passkeys: user verification required, ES256 or EdDSA, attestation "none" only
/// (the portal asks for none; the format is recorded), the client data's type, challenge and
/// origin, the RP ID hash, and the signature counter never going back.
public struct WebAuthnVerifier: Sendable {
    /// The relying party id (the portal's host name) and the origins its pages are served from.
    public let relyingPartyID: String
    public let origins: Set<String>

    public init(relyingPartyID: String, origins: Set<String>) {
        self.relyingPartyID = relyingPartyID
        self.origins = origins
    }

    /// What a verified registration gives: the credential to store.
    public struct RegisteredCredential: Sendable, Equatable {
        public var credentialID: [UInt8]
        /// The COSE_Key as the authenticator sent it.
        public var publicKey: [UInt8]
        public var algorithm: COSEAlgorithm
        public var signCount: UInt32
        public var attestationFormat: String
        public var aaguid: [UInt8]
        /// Whether the credential may be backed up (synced passkeys): recorded, allowed.
        public var backupEligible: Bool
    }

    /// §7.1: `clientDataJSON` and `attestationObject` from `navigator.credentials.create`, for
    /// the challenge this relying party issued.
    public func verifyRegistration(
        clientDataJSON: [UInt8], attestationObject: [UInt8], challenge: [UInt8]
    ) throws(WebAuthnError) -> RegisteredCredential {
        try verifyClientData(clientDataJSON, type: "webauthn.create", challenge: challenge)
        let attestation: CBOR
        do {
            attestation = try CBOR.decode(attestationObject)
        } catch {
            throw .malformed("attestation object: \(error)")
        }
        guard let format = attestation["fmt"]?.text, let statement = attestation["attStmt"],
            let authenticatorData = attestation["authData"]?.bytes
        else { throw .malformed("attestation object: fmt, attStmt and authData are required") }
        guard format == "none", statement == .map([]) else {
            throw .refused("attestation \(format) is not accepted: the portal asks for none")
        }
        let data = try AuthenticatorData(authenticatorData)
        try verify(data)
        guard let credential = data.attestedCredential else {
            throw .malformed("authenticator data: no attested credential")
        }
        return RegisteredCredential(
            credentialID: credential.id, publicKey: credential.publicKey.encoded,
            algorithm: credential.publicKey.algorithm,
            signCount: data.signCount, attestationFormat: format, aaguid: credential.aaguid,
            backupEligible: data.flags & AuthenticatorData.backupEligible != 0)
    }

    /// §7.2: an assertion from `navigator.credentials.get` for a stored credential; returns the
    /// new signature counter to store.
    public func verifyAssertion(
        clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], challenge: [UInt8],
        publicKey: [UInt8], storedSignCount: UInt32
    ) throws(WebAuthnError) -> UInt32 {
        try verifyClientData(clientDataJSON, type: "webauthn.get", challenge: challenge)
        let data = try AuthenticatorData(authenticatorData)
        try verify(data)
        guard data.attestedCredential == nil else { throw .malformed("an assertion carries no attested credential") }
        let key = try COSEKey(decoding: publicKey)
        guard key.isValidSignature(signature, for: authenticatorData + SHA256.hash(clientDataJSON)) else {
            throw .refused("the signature is not valid")
        }
        // §7.2 step 21: a counter that does not grow, where either side counts, may be a clone.
        if data.signCount != 0 || storedSignCount != 0, data.signCount <= storedSignCount {
            throw .refused(
                "the signature counter went back (\(storedSignCount) then \(data.signCount)): a cloned authenticator?")
        }
        return data.signCount
    }

    private func verifyClientData(_ json: [UInt8], type: String, challenge: [UInt8]) throws(WebAuthnError) {
        struct ClientData: Decodable {
            var type: String
            var challenge: String
            var origin: String
            var crossOrigin: Bool?
        }
        guard let clientData = try? JSONDecoder().decode(ClientData.self, from: Data(json)) else {
            throw .malformed("client data is not the JSON a browser sends")
        }
        guard clientData.type == type else { throw .refused("client data type \(clientData.type), not \(type)") }
        guard let sent = Base64URL.decode(clientData.challenge), constantTimeEquals(sent, challenge) else {
            throw .refused("not the challenge this sign-in was given")
        }
        guard origins.contains(clientData.origin) else {
            throw .refused("origin \(clientData.origin) is not this portal's")
        }
        guard clientData.crossOrigin != true else { throw .refused("made in a cross-origin frame") }
    }

    private func verify(_ data: AuthenticatorData) throws(WebAuthnError) {
        guard constantTimeEquals(data.relyingPartyIDHash, SHA256.hash(Array(relyingPartyID.utf8))) else {
            throw .refused("made for another relying party than \(relyingPartyID)")
        }
        guard data.flags & AuthenticatorData.userPresent != 0 else { throw .refused("the user was not present") }
        guard data.flags & AuthenticatorData.userVerified != 0 else {
            throw .refused("the user was not verified (a PIN or biometric is required)")
        }
    }
}

/// The COSE algorithms accepted (IANA COSE Algorithms registry).
public enum COSEAlgorithm: Int, Sendable {
    case es256 = -7
    case edDSA = -8
}

/// A credential public key (RFC 9053): EC2 on P-256 for ES256, OKP Ed25519 for EdDSA.
public struct COSEKey: Sendable {
    public let algorithm: COSEAlgorithm
    let x: [UInt8]
    let y: [UInt8]
    /// The key's CBOR as it came.
    public let encoded: [UInt8]

    public init(decoding encoded: [UInt8]) throws(WebAuthnError) {
        let key: CBOR
        do {
            key = try CBOR.decode(encoded)
        } catch {
            throw .malformed("credential public key: \(error)")
        }
        try self.init(key, encoded: encoded)
    }

    init(_ key: CBOR, encoded: [UInt8]) throws(WebAuthnError) {
        self.encoded = encoded
        switch (key[integer: 1]?.integer, key[integer: 3]?.integer, key[integer: -1]?.integer) {
        case (2, COSEAlgorithm.es256.rawValue, 1):
            guard let x = key[integer: -2]?.bytes, let y = key[integer: -3]?.bytes, x.count == 32, y.count == 32 else {
                throw .malformed("an ES256 key has 32-byte x and y")
            }
            (algorithm, self.x, self.y) = (.es256, x, y)
        case (1, COSEAlgorithm.edDSA.rawValue, 6):
            guard let x = key[integer: -2]?.bytes, x.count == 32 else {
                throw .malformed("an Ed25519 key has 32 bytes")
            }
            (algorithm, self.x, self.y) = (.edDSA, x, [])
        case (let type, let algorithm, let curve):
            throw .refused(
                "credential key type \(type.map(String.init) ?? "?"), algorithm \(algorithm.map(String.init) ?? "?"), "
                    + "curve \(curve.map(String.init) ?? "?"): only ES256 (P-256) and EdDSA (Ed25519) are accepted")
        }
    }

    func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch algorithm {
        case .es256: ECDSAP256.isValidSignature(signature, for: message, x: x, y: y)
        case .edDSA: (try? Ed25519.PublicKey(rawRepresentation: x))?.isValidSignature(signature, for: message) ?? false
        }
    }
}

/// Authenticator data (WebAuthn §6.1), read strictly: no bytes left over.
struct AuthenticatorData {
    static let userPresent: UInt8 = 0x01
    static let userVerified: UInt8 = 0x04
    static let backupEligible: UInt8 = 0x08
    static let attestedCredentialIncluded: UInt8 = 0x40
    static let extensionsIncluded: UInt8 = 0x80

    var relyingPartyIDHash: [UInt8]
    var flags: UInt8
    var signCount: UInt32
    var attestedCredential: (aaguid: [UInt8], id: [UInt8], publicKey: COSEKey)?

    init(_ bytes: [UInt8]) throws(WebAuthnError) {
        guard bytes.count >= 37 else { throw .malformed("authenticator data is at least 37 bytes") }
        relyingPartyIDHash = Array(bytes[0..<32])
        flags = bytes[32]
        signCount = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
        var position = 37
        if flags & Self.attestedCredentialIncluded != 0 {
            guard bytes.count >= position + 18 else { throw .malformed("attested credential data is cut short") }
            let aaguid = Array(bytes[position..<position + 16])
            let idLength = Int(bytes[position + 16]) << 8 | Int(bytes[position + 17])
            position += 18
            guard (1...1023).contains(idLength), bytes.count >= position + idLength else {
                throw .malformed("a credential id is 1 to 1023 bytes")
            }
            let id = Array(bytes[position..<position + idLength])
            position += idLength
            let key: CBOR
            let length: Int
            do {
                (key, length) = try CBOR.decodePrefix(bytes[position...])
            } catch {
                throw .malformed("credential public key: \(error)")
            }
            attestedCredential = (aaguid, id, try COSEKey(key, encoded: Array(bytes[position..<position + length])))
            position += length
        }
        if flags & Self.extensionsIncluded != 0 {
            do {
                let (extensions, length) = try CBOR.decodePrefix(bytes[position...])
                guard case .map = extensions else { throw CBORError.malformed("extensions are a map") }
                position += length
            } catch {
                throw .malformed("extensions: \(error)")
            }
        }
        guard position == bytes.count else { throw .malformed("bytes after the authenticator data") }
    }
}

/// Why a passkey registration or sign-in was not accepted.
public enum WebAuthnError: Error, Equatable, CustomStringConvertible {
    /// Not what an authenticator and a browser send.
    case malformed(String)
    /// Well formed, and wrong: another origin, challenge or relying party, no user verification,
    /// a bad signature, a counter gone back.
    case refused(String)

    public var description: String {
        switch self {
        case .malformed(let why): "passkey data is malformed: \(why)"
        case .refused(let why): why
        }
    }
}
