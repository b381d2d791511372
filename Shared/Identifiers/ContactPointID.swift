/// A child's ContactPoint ID: ten digits, the last a modulus-11 check digit over the first nine
/// (weights 10 down to 2; check = 11 − sum mod 11, where 11 becomes 0 and 10 is never issued),
/// the scheme of the NHS number. Validated wherever one enters the system.
public struct ContactPointID: Sendable, Hashable, CustomStringConvertible {
    public let digits: String

    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        let values = bytes.map { Int($0 - UInt8(ascii: "0")) }
        guard let check = Self.checkDigit(values.prefix(9)), check == values[9] else { return nil }
        digits = String(text)
    }

    /// The ID whose first nine digits are `serial` (0 ..< 10⁹), or `nil` if that serial has no
    /// valid check digit (about one in eleven).
    public init?(serial: Int) {
        guard (0..<1_000_000_000).contains(serial) else { return nil }
        var values: [Int] = []
        var rest = serial
        for _ in 0..<9 {
            values.insert(rest % 10, at: 0)
            rest /= 10
        }
        guard let check = Self.checkDigit(values[...]) else { return nil }
        digits = values.map(String.init).joined() + String(check)
    }

    public var description: String { digits }

    static func checkDigit(_ values: ArraySlice<Int>) -> Int? {
        let sum = zip(values, stride(from: 10, through: 2, by: -1)).reduce(0) { $0 + $1.0 * $1.1 }
        let check = 11 - sum % 11
        if check == 11 { return 0 }
        return check == 10 ? nil : check
    }
}
