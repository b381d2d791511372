/// HOTP (RFC 4226) and TOTP (RFC 6238) codes.
///
/// A code is checked against the current time step and, if allowed, the previous one; the
/// caller records the step that matched and refuses a code of a step already used, which is
/// what makes a code single-use.
public struct OneTimePassword: Sendable {
    public var secret: [UInt8]
    public var hash: HMAC.Hash = .sha1
    public var digits = 6
    public var step: Duration = .seconds(30)

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// The HOTP code for `counter`, zero-padded to ``digits``.
    public func code(counter: UInt64) -> String {
        let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (56 - 8 * $0)) }
        let mac = HMAC.authenticationCode(hash, key: secret, message: message)
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The TOTP time step of `unixTime` (seconds since 1970, T0 = 0).
    public func timeStep(at unixTime: Int64) -> UInt64 {
        UInt64(max(0, unixTime)) / UInt64(step.components.seconds)
    }

    public func code(at unixTime: Int64) -> String {
        code(counter: timeStep(at: unixTime))
    }

    /// The time step whose code `code` is — the current step, or the previous one when
    /// `allowPrevious` — or `nil`. Compared in constant time.
    public func matchingStep(of code: String, at unixTime: Int64, allowPrevious: Bool = true) -> UInt64? {
        let current = timeStep(at: unixTime)
        let candidates = allowPrevious && current > 0 ? [current, current - 1] : [current]
        var matched: UInt64?
        for step in candidates where constantTimeEquals(Array(self.code(counter: step).utf8), Array(code.utf8)) {
            matched = matched ?? step
        }
        return matched
    }
}

extension OneTimePassword {
    /// The `otpauth://` URI authenticator apps read (from a QR code) to add this secret:
    /// SHA-1, 6 digits, 30 s, as every common app supports.
    public static func provisioningURI(secret: [UInt8], account: String, issuer: String = "ContactPoint") -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~@".unicodeScalars)
        func escape(_ text: String) -> String {
            text.unicodeScalars.map { allowed.contains($0) ? String($0) : $0.utf8Escaped }.joined()
        }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))"
            + "&issuer=\(escape(issuer))&algorithm=SHA1&digits=6&period=30"
    }
}

extension Unicode.Scalar {
    fileprivate var utf8Escaped: String {
        String(self).utf8.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return "%" + (hex.count == 1 ? "0" + hex : hex)
        }.joined()
    }
}
