import SecurityPrimitives

/// The ids outsiders see for rows numbered in the order they were made (involvements, alerts).
///
/// Row numbers in order would tell anyone holding two ids how many rows were made between them:
/// across organisations, how busy the index and its alerts are. Each row number is instead put
/// through a keyed permutation of 64-bit numbers (a four-round Feistel network whose round
/// function is HMAC-SHA256 under a random key the service keeps in its database), so consecutive
/// rows get unrelated ids, and an id maps back to its row with no table or index of its own: the
/// rows keep their order on disk. Rows numbered up to `plainUpTo` were given out as plain numbers
/// before there were opaque ids: they keep those, and no opaque id is such a number.
public struct OpaqueRowIDs: Sendable {
    /// What every opaque id starts with, e.g. `inv-`: which kind of row it names.
    public let prefix: String
    private let key: [UInt8]
    public let plainUpTo: Int64

    public init(prefix: String, key: [UInt8], plainUpTo: Int64) {
        precondition(key.count >= 16, "an opaque-id key has at least 128 bits")
        (self.prefix, self.key, self.plainUpTo) = (prefix, key, plainUpTo)
    }

    /// The number a row is given out as: the row's own if it is one of those given out as numbers
    /// before, else the row under the keyed permutation of the numbers below 2⁶³ (cycle-walking the
    /// 64-bit one), with the top bit set, so that it is never one of the plain numbers.
    public func number(ofRow row: Int64) -> UInt64 {
        precondition(row > 0, "rows are numbered from 1")
        guard row > plainUpTo else { return UInt64(row) }
        var value = UInt64(row)
        repeat { value = permute(value, inverse: false) } while value >= Self.topBit
        return Self.topBit | value
    }

    /// The row a number names, or `nil` if it names none (a number beyond those given out as numbers).
    public func row(ofNumber number: UInt64) -> Int64? {
        if number < Self.topBit {
            return number > 0 && number <= UInt64(plainUpTo) ? Int64(number) : nil
        }
        var value = number & ~Self.topBit
        repeat { value = permute(value, inverse: true) } while value >= Self.topBit
        return value > UInt64(plainUpTo) && value > 0 ? Int64(value) : nil
    }

    /// The id of a row as text: its number if it is one of the rows given out as numbers, else the
    /// prefix and its ``number(ofRow:)`` in 13 base-32 characters.
    public func id(ofRow row: Int64) -> String {
        guard row > plainUpTo else { return String(row) }
        var value = number(ofRow: row)
        var characters = [UInt8](repeating: 0, count: 13)
        for index in characters.indices.reversed() {
            characters[index] = Self.alphabet[Int(value & 31)]
            value >>= 5
        }
        return prefix + String(decoding: characters, as: UTF8.self)
    }

    /// The row an id names, or `nil` if it is not an id of this kind (a number beyond those given
    /// out as numbers, a forged or mistyped opaque id).
    public func row(ofID id: some StringProtocol) -> Int64? {
        if id.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            guard let number = Int64(id), number > 0, number <= plainUpTo else { return nil }
            return number
        }
        guard id.hasPrefix(prefix) else { return nil }
        let characters = Array(id.utf8.dropFirst(prefix.utf8.count))
        guard characters.count == 13 else { return nil }
        var value: UInt64 = 0
        for (index, character) in characters.enumerated() {
            guard let digit = Self.alphabet.firstIndex(of: character) else { return nil }
            // The first character carries the top four bits, the top one set: 8 to f.
            guard index > 0 || (8..<16).contains(digit) else { return nil }
            value = value << 5 | UInt64(digit)
        }
        return row(ofNumber: value)
    }

    private static let topBit: UInt64 = 1 << 63

    /// Base 32 without the letters easily misread (i, l, o, u), lower case.
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    private func permute(_ value: UInt64, inverse: Bool) -> UInt64 {
        var (left, right) = (UInt32(value >> 32), UInt32(truncatingIfNeeded: value))
        for round: UInt8 in inverse ? [3, 2, 1, 0] : [0, 1, 2, 3] {
            if inverse {
                (left, right) = (right ^ mix(round, left), left)
            } else {
                (left, right) = (right, left ^ mix(round, right))
            }
        }
        return UInt64(left) << 32 | UInt64(right)
    }

    private func mix(_ round: UInt8, _ half: UInt32) -> UInt32 {
        let message = [round] + withUnsafeBytes(of: half.bigEndian, Array.init)
        return HMAC.authenticationCode(.sha256, key: key, message: message).prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
