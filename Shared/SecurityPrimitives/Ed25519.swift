import COpenSSL

/// Ed25519 (RFC 8032) signatures through OpenSSL: session tokens are signed with these.
public enum Ed25519 {
    /// A private key: 32 secret bytes; keep them out of logs and databases.
    public struct PrivateKey: Sendable, CustomStringConvertible {
        public let rawRepresentation: [UInt8]
        public let publicKey: PublicKey

        public init(rawRepresentation: [UInt8]) throws(OpenSSLError) {
            guard rawRepresentation.count == 32 else {
                throw OpenSSLError(
                    function: "Ed25519.PrivateKey", reason: "a private key is 32 bytes, not \(rawRepresentation.count)")
            }
            self.rawRepresentation = rawRepresentation
            let key = try Self.evpKey(rawRepresentation)
            defer { EVP_PKEY_free(key) }
            var publicBytes = [UInt8](repeating: 0, count: 32)
            var length = 32
            try openSSLCall("EVP_PKEY_get_raw_public_key") { EVP_PKEY_get_raw_public_key(key, &publicBytes, &length) }
            publicKey = try PublicKey(rawRepresentation: publicBytes)
        }

        /// A new key from the CSPRNG (any 32 random bytes are an Ed25519 private key).
        public static func generate() -> PrivateKey {
            // 32 bytes always make a valid key.
            try! PrivateKey(rawRepresentation: SecureRandom.bytes(32))
        }

        public func signature(for message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
            let key = try Self.evpKey(rawRepresentation)
            defer { EVP_PKEY_free(key) }
            guard let context = EVP_MD_CTX_new() else { throw .lastError(of: "EVP_MD_CTX_new") }
            defer { EVP_MD_CTX_free(context) }
            try openSSLCall("EVP_DigestSignInit") { EVP_DigestSignInit(context, nil, nil, nil, key) }
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            try openSSLCall("EVP_DigestSign") { EVP_DigestSign(context, &signature, &length, message, message.count) }
            return signature
        }

        public var description: String {
            "Ed25519.PrivateKey(public: \(publicKey.rawRepresentation.hexString), private: <redacted>)"
        }

        private static func evpKey(_ raw: [UInt8]) throws(OpenSSLError) -> OpaquePointer {
            guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
                throw .lastError(of: "EVP_PKEY_new_raw_private_key")
            }
            return key
        }
    }

    public struct PublicKey: Sendable, Hashable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws(OpenSSLError) {
            guard rawRepresentation.count == 32 else {
                throw OpenSSLError(
                    function: "Ed25519.PublicKey", reason: "a public key is 32 bytes, not \(rawRepresentation.count)")
            }
            self.rawRepresentation = rawRepresentation
        }

        /// Whether `signature` is this key's signature of `message`. Any failure is `false`.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == 64,
                let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, rawRepresentation, rawRepresentation.count)
            else { return false }
            defer { EVP_PKEY_free(key) }
            guard let context = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
            let valid = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
            ERR_clear_error()
            return valid
        }
    }
}
