import COpenSSL

/// Bytes from OpenSSL's CSPRNG, for keys, salts, secrets and identifiers.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // RAND_bytes fails only when the generator cannot be seeded: nothing secret may be made then.
        guard RAND_bytes(&bytes, Int32(count)) == 1 else {
            fatalError("the system random number generator failed: \(OpenSSLError.lastError(of: "RAND_bytes"))")
        }
        return bytes
    }
}

/// Compares two byte strings in time that depends on their length only, never on their content.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return CRYPTO_memcmp(a, b, a.count) == 0
}
