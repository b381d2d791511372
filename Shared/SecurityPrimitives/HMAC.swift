import COpenSSL

/// HMAC (RFC 2104) with the hash functions ContactPoint uses.
public enum HMAC {
    public enum Hash: String, Sendable, Hashable, CaseIterable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
        case sha512 = "SHA512"

        var evp: OpaquePointer {
            switch self {
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            case .sha512: EVP_sha512()
            }
        }
    }

    public static func authenticationCode(_ hash: Hash, key: [UInt8], message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // One-shot HMAC over memory fails only on allocation failure.
        guard COpenSSL.HMAC(hash.evp, key, Int32(key.count), message, message.count, &output, &length) != nil else {
            fatalError("HMAC failed: \(OpenSSLError.lastError(of: "HMAC"))")
        }
        return Array(output.prefix(Int(length)))
    }
}

/// SHA-256 (FIPS 180-4), for fingerprints of high-entropy values such as one-time codes.
public enum SHA256 {
    public static func hash(_ message: [UInt8]) -> [UInt8] { digest(message, EVP_sha256(), "SHA-256") }
}

/// SHA-1 (FIPS 180-4), only where a published format requires it: the breached-password corpus
/// is keyed by SHA-1 of each password. Never used to protect anything.
public enum SHA1 {
    public static func hash(_ message: [UInt8]) -> [UInt8] { digest(message, EVP_sha1(), "SHA-1") }
}

private func digest(_ message: [UInt8], _ algorithm: OpaquePointer?, _ name: String) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    // A one-shot digest over memory fails only on allocation failure.
    guard EVP_Digest(message, message.count, &output, &length, algorithm, nil) == 1 else {
        fatalError("\(name) failed: \(OpenSSLError.lastError(of: "EVP_Digest"))")
    }
    return Array(output.prefix(Int(length)))
}
