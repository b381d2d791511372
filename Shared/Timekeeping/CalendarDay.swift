public import Foundation

/// A day of the (proleptic) Gregorian calendar, written `YYYY-MM-DD`: a date of birth, a vetting
/// date, the last day a consent applies.
///
/// Every rule that asks for "today" — a date of birth not in the future, an expiry today or
/// later, vetting that lapses so many years after a check — means today in England, where the
/// children and practitioners are: ``init(inEngland:)``, the one place an instant becomes a day.
/// In British Summer Time England's day begins at 23:00 UTC.
public struct CalendarDay: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// England's time zone: GMT in winter, BST (UTC+1) in summer, from the tz database.
    public static let england = TimeZone(identifier: "Europe/London")!

    /// The day in England at `instant`.
    public init(inEngland instant: Instant) {
        let offset = Int64(Self.england.secondsFromGMT(for: instant.date))
        self.init(daysSince1970: Int((instant.seconds + offset).floorDivided(by: Self.secondsPerDay)))
    }

    /// Parses `YYYY-MM-DD` exactly (four-digit year, two-digit month and day, a day the month
    /// has); `nil` for anything else. Bytes, not `split` and `Int(_:)`: feeds validate millions.
    public init?(_ text: String) {
        var text = text
        let parsed: (Int, Int, Int)? = text.withUTF8 { bytes in
            guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for byte in bytes[range] {
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
            return (year, month, day)
        }
        guard let (year, month, day) = parsed else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// `nil` unless `month` is 1–12 and the month has `day`.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// The day `days` days after 1970-01-01 (Howard Hinnant's civil_from_days: eras of 400
    /// years, years counted from March).
    public init(daysSince1970 days: Int) {
        let dayNumber = days + Self.daysFromYearZeroMarchTo1970
        let era = (dayNumber >= 0 ? dayNumber : dayNumber - 146_096) / 146_097
        let dayOfEra = dayNumber - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 (negative before it): the inverse of ``init(daysSince1970:)``.
    public var daysSince1970: Int {
        let (year, month) = month <= 2 ? (self.year - 1, month + 12) : (self.year, month)
        let dayNumber = 365 * year + year / 4 - year / 100 + year / 400 + (153 * (month - 3) + 2) / 5 + day - 1
        return dayNumber - Self.daysFromYearZeroMarchTo1970
    }

    /// This day moved by `days` (negative: earlier).
    public func adding(days: Int) -> CalendarDay { CalendarDay(daysSince1970: daysSince1970 + days) }

    /// The same day `years` later (29 February becomes 28 February in a common year).
    public func adding(years: Int) -> CalendarDay {
        let year = year + years
        return CalendarDay(year: year, month: month, day: min(day, Self.days(inMonth: month, year: year)))!
    }

    /// Whole days from this day to `other` (negative if `other` is earlier).
    public func days(until other: CalendarDay) -> Int { other.daysSince1970 - daysSince1970 }

    public static func < (a: CalendarDay, b: CalendarDay) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func digits(_ value: Int, _ count: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, count - text.count)) + text
        }
        return "\(digits(year, 4))-\(digits(month, 2))-\(digits(day, 2))"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let day = CalendarDay(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date"))
        }
        self = day
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func days(inMonth month: Int, year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    private static let secondsPerDay: Int64 = 86_400
    /// 1970-01-01 is day 719,468 counting from 0000-03-01.
    private static let daysFromYearZeroMarchTo1970 = 719_468
}
