import COpenSSL

/// Password hashing: PBKDF2-HMAC-SHA-256 (OWASP ASVS 5.0 Appendix C: at least 600,000
/// iterations) over the password keyed with a pepper that lives outside the database.
///
/// The pepper is applied as HMAC-SHA-256(pepper, password), so a stolen database alone cannot
/// be attacked offline, and a password of any length is used whole (no truncation). A hash is
/// stored as `pbkdf2-sha256$ITERATIONS$SALT$HASH` (hex), so parameters can be raised later and
/// old hashes still verify (and be rehashed at the next login).
public struct PasswordHasher: Sendable {
    public static let defaultIterations = 600_000

    private let pepper: [UInt8]
    public var iterations: Int

    public init(pepper: [UInt8], iterations: Int = PasswordHasher.defaultIterations) {
        precondition(pepper.count >= 32, "a pepper is at least 32 random bytes")
        self.pepper = pepper
        self.iterations = iterations
    }

    public func hash(_ password: String) -> String {
        let salt = SecureRandom.bytes(16)
        let derived = Self.pbkdf2(peppered(password), salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(salt.hexString)$\(derived.hexString)"
    }

    /// Whether `password` matches `stored`; the comparison takes the same time either way.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]), iterations > 0,
            let salt = [UInt8](hex: parts[2]), let expected = [UInt8](hex: parts[3])
        else { return false }
        return constantTimeEquals(Self.pbkdf2(peppered(password), salt: salt, iterations: iterations), expected)
    }

    /// Whether `stored` was made with weaker parameters than these.
    public func needsRehash(_ stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        return parts.count != 4 || parts[0] != "pbkdf2-sha256" || (Int(parts[1]) ?? 0) < iterations
    }

    private func peppered(_ password: String) -> [UInt8] {
        HMAC.authenticationCode(.sha256, key: pepper, message: Array(password.utf8))
    }

    /// PBKDF2-HMAC-SHA-256 (RFC 8018), 32 bytes unless asked otherwise.
    public static func pbkdf2(_ password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        let ok = password.withUnsafeBufferPointer { password in
            password.withMemoryRebound(to: CChar.self) { password in
                PKCS5_PBKDF2_HMAC(
                    password.baseAddress, Int32(password.count), salt, Int32(salt.count), Int32(iterations),
                    EVP_sha256(),
                    Int32(length), &output)
            }
        }
        guard ok == 1 else { fatalError("PBKDF2 failed: \(OpenSSLError.lastError(of: "PKCS5_PBKDF2_HMAC"))") }
        return output
    }
}
