import Foundation
import Timekeeping

/// Event ids: UUIDs of version 7 (RFC 9562 §5.7) — the Unix time in milliseconds in the first 48
/// bits, then 74 random bits. Ids made at about the same time sort together, so the audit log's
/// index of event ids grows at its end instead of at random pages (a version-4 UUID lands
/// anywhere, and at millions of events every insert would rewrite a page of its own).
public enum EventID {
    /// A new id for an event happening at `milliseconds` since 1970 (now, by default).
    public static func make(milliseconds: Int64 = WallClock.system.now.milliseconds) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: milliseconds, random: (generator.next(), generator.next()))
    }

    /// The id with the given time and random bits (only the low 12 bits of the first and 62 of
    /// the second are used), for tests and benchmarks that need to know the id beforehand.
    public static func make(milliseconds: Int64, random: (UInt64, UInt64)) -> String {
        let time = UInt64(bitPattern: milliseconds) & 0xFFFF_FFFF_FFFF
        let high = time << 16 | 0x7000 | (random.0 & 0x0FFF)
        let low = 0x8000_0000_0000_0000 | (random.1 & 0x3FFF_FFFF_FFFF_FFFF)
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (word, bits) in [(high, 0..<16), (low, 16..<32)] {
            for digit in bits {
                if [8, 12, 16, 20].contains(digit) { text.append(UInt8(ascii: "-")) }
                text.append(digits[Int(word >> UInt64(60 - (digit % 16) * 4) & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The time an id of version 7 carries (milliseconds since 1970), or `nil` for any other id.
    public static func milliseconds(of id: String) -> Int64? {
        let hex = id.replacingOccurrences(of: "-", with: "")
        guard id.count == 36, hex.count == 32, Array(hex)[12] == "7", let time = UInt64(hex.prefix(12), radix: 16)
        else { return nil }
        return Int64(time)
    }
}
