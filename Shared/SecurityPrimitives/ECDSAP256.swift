import COpenSSL

/// ECDSA on P-256 with SHA-256 (ES256), verification only: WebAuthn passkeys sign with it.
public enum ECDSAP256 {
    /// DER SubjectPublicKeyInfo of an uncompressed P-256 point, up to the point's `04` prefix.
    private static let subjectPublicKeyInfoPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    ]

    /// Whether `signature` (DER `ECDSA-Sig-Value`, as WebAuthn sends it) is the signature of
    /// `message` by the key with affine coordinates `x` and `y` (32 bytes each). A point not on
    /// the curve is no key.
    public static func isValidSignature(_ signature: [UInt8], for message: [UInt8], x: [UInt8], y: [UInt8]) -> Bool {
        guard x.count == 32, y.count == 32 else { return false }
        let info = subjectPublicKeyInfoPrefix + x + y
        defer { ERR_clear_error() }
        let key: OpaquePointer? = info.withUnsafeBufferPointer { buffer in
            var start: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &start, buffer.count)
        }
        guard let key else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }
}
