/// base64url without padding (RFC 4648 §5), as JWS, WebAuthn and the portal's cookies use it.
///
/// Byte by byte, without Foundation: every service decodes a session token on every call, and
/// the portal a cookie and a token on every page (the Foundation round trip through
/// `replacingOccurrences` and `Data(base64Encoded:)` was a fifth of the portal's CPU).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { text.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let group = UInt32(bytes[index]) << 16
            for shift in [18, 12] { text.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
        case 2:
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            for shift in [18, 12, 6] { text.append(alphabet[Int(group >> UInt32(shift) & 63)]) }
        default:
            break
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes, or `nil` for text that is not canonical unpadded base64url: a character outside
    /// the alphabet (padding included), a length that no byte count encodes, or bits set after
    /// the last byte.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "_"): value = 63
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        // 6 bits left: a length of 4n + 1, which encodes nothing. Bits left must be zero.
        guard bits < 6, buffer == 0 else { return nil }
        return bytes
    }
}
