import COpenSSL

/// AES-256-GCM authenticated encryption for secrets kept at rest (TOTP secrets in the identity
/// database), with a key kept outside the database.
///
/// A sealed box is `nonce (12) ‖ ciphertext ‖ tag (16)`. `context` is bound in as associated
/// data (e.g. the account id), so a box copied to another row does not open.
public struct SecretBox: Sendable {
    private let key: [UInt8]

    public init(key: [UInt8]) {
        precondition(key.count == 32, "an AES-256 key is 32 bytes")
        self.key = key
    }

    public func seal(_ plaintext: [UInt8], context: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        let nonce = SecureRandom.bytes(12)
        guard let cipher = EVP_CIPHER_CTX_new() else { throw .lastError(of: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(cipher) }
        try openSSLCall("EVP_EncryptInit_ex") { EVP_EncryptInit_ex(cipher, EVP_aes_256_gcm(), nil, key, nonce) }
        var length: Int32 = 0
        try openSSLCall("EVP_EncryptUpdate") { EVP_EncryptUpdate(cipher, nil, &length, context, Int32(context.count)) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        try openSSLCall("EVP_EncryptUpdate") {
            EVP_EncryptUpdate(cipher, &ciphertext, &length, plaintext, Int32(plaintext.count))
        }
        var written = Int(length)
        try openSSLCall("EVP_EncryptFinal_ex") {
            ciphertext.withUnsafeMutableBufferPointer {
                EVP_EncryptFinal_ex(cipher, $0.baseAddress! + written, &length)
            }
        }
        written += Int(length)
        var tag = [UInt8](repeating: 0, count: 16)
        try openSSLCall("EVP_CIPHER_CTX_ctrl") { EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, 16, &tag) }
        return nonce + ciphertext.prefix(written) + tag
    }

    /// The plaintext, or `nil` if the box was altered, belongs to another context or another key.
    public func open(_ box: [UInt8], context: [UInt8]) -> [UInt8]? {
        guard box.count >= 28, let cipher = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(cipher) }
        let nonce = Array(box.prefix(12))
        let ciphertext = Array(box[12..<(box.count - 16)])
        var tag = Array(box.suffix(16))
        var length: Int32 = 0
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        defer { ERR_clear_error() }
        guard EVP_DecryptInit_ex(cipher, EVP_aes_256_gcm(), nil, key, nonce) == 1,
            EVP_DecryptUpdate(cipher, nil, &length, context, Int32(context.count)) == 1,
            EVP_DecryptUpdate(cipher, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1
        else { return nil }
        let written = Int(length)
        guard EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1,
            plaintext.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(cipher, $0.baseAddress! + written, &length) }
            ) == 1
        else { return nil }
        return Array(plaintext.prefix(written + Int(length)))
    }
}
