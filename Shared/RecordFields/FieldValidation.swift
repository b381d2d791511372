public import ContactPointAPI
import Foundation
public import GRPCCore
public import Identifiers
import Timekeeping

/// The shapes ContactPoint accepts, field by field: names, addresses, postcodes, telephone numbers,
/// emails, dates and codes, each with its length and character class. There is no free-text
/// field, so case information has nowhere to go. A bad value is INVALID_ARGUMENT whose message
/// starts with the field's path.
public enum FieldValidation {
    public static func invalid(_ field: String, _ expected: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field): \(expected)")
    }

    /// A person's given or family name: letters (any script), spaces, hyphens, apostrophes and
    /// full stops, starting with a letter; 1–100 characters. Leading and trailing spaces are trimmed.
    public static func personName(_ value: String, _ field: String) throws(RPCError) -> String {
        let name = trimmed(value)
        guard name.first?.isLetter == true, isText(name, length: 1...100, digits: false, punctuation: " -'’.") else {
            throw invalid(field, "1–100 letters, spaces, hyphens and apostrophes, starting with a letter")
        }
        return name
    }

    /// A line of an address or a town: letters, digits, spaces and `' - , . / & ( )`; 1–100 characters.
    public static func addressText(_ value: String, _ field: String) throws(RPCError) -> String {
        let text = trimmed(value)
        guard isText(text, length: 1...100, digits: true, punctuation: " '’-,./&()") else {
            throw invalid(field, "1–100 letters, digits, spaces and ' - , . / & ( )")
        }
        return text
    }

    /// A job role or an organisation's name: as an address line, up to `maximum` characters.
    public static func label(_ value: String, _ field: String, maximum: Int) throws(RPCError) -> String {
        let text = trimmed(value)
        guard isText(text, length: 1...maximum, digits: true, punctuation: " '’-,./&()") else {
            throw invalid(field, "1–\(maximum) letters, digits, spaces and ' - , . / & ( )")
        }
        return text
    }

    /// A UK postcode, normalised to upper case with one space before the inward code ("SW1A 1AA").
    public static func postcode(_ value: String, _ field: String) throws(RPCError) -> String {
        guard let postcode = Postcode(value) else { throw invalid(field, "a UK postcode such as SW1A 1AA") }
        return postcode.text
    }

    /// A UK telephone number: digits and spaces with an optional leading +, 10–13 digits.
    public static func telephone(_ value: String, _ field: String) throws(RPCError) -> String {
        let text = trimmed(value)
        let body = text.utf8.first == UInt8(ascii: "+") ? text.utf8.dropFirst() : text.utf8[...]
        let digits = body.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        guard (10...13).contains(digits), text.utf8.count <= 20,
            digits + body.filter({ $0 == UInt8(ascii: " ") }).count == body.count
        else { throw invalid(field, "a telephone number: 10–13 digits, spaces and an optional leading +") }
        return text
    }

    /// An email address: one `@`, a local part of `[A-Za-z0-9._%+-]` and a dotted domain; ≤254 characters.
    public static func email(_ value: String, _ field: String) throws(RPCError) -> String {
        let text = trimmed(value)
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.count <= 254, parts.count == 2, (1...64).contains(parts[0].count),
            parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._%+-".contains($0)) }),
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) })
        else { throw invalid(field, "an email address such as name@school.example.sch.uk") }
        return text
    }

    /// A local authority code: 3–12 upper-case letters and digits (e.g. E09000033).
    public static func localAuthority(_ value: String, _ field: String) throws(RPCError) -> String {
        guard (3...12).contains(value.count), value.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
        else { throw invalid(field, "a local authority code: 3–12 upper-case letters and digits, e.g. E09000033") }
        return value
    }

    /// An identifier another service issued (`what`: "an event id", say): 1–64 of `[A-Za-z0-9._:-]`.
    public static func identifier(_ value: String, _ field: String, _ what: String) throws(RPCError) -> String {
        guard (1...64).contains(value.count),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-".contains($0)) })
        else { throw invalid(field, "\(what): 1–64 letters, digits and ._:-") }
        return value
    }

    /// An organisation's id as the identity service issued it.
    public static func organisationID(_ value: String, _ field: String) throws(RPCError) -> String {
        try identifier(value, field, "an organisation id")
    }

    public static func childID(_ value: String, _ field: String) throws(RPCError) -> ContactPointID {
        guard let id = ContactPointID(value) else {
            throw invalid(field, "a ContactPoint ID: 10 digits with a valid check digit")
        }
        return id
    }

    /// A calendar date `YYYY-MM-DD` from 1900 up to `today` (both as `YYYY-MM-DD`).
    public static func pastDate(_ value: String, _ field: String, today: String) throws(RPCError) -> String {
        guard CalendarDay(value) != nil, value >= "1900-01-01" else {
            throw invalid(field, "a date as YYYY-MM-DD, from 1900 on, that exists on the calendar")
        }
        guard value <= today else { throw invalid(field, "must not be in the future") }
        return value
    }

    /// `value` without leading and trailing spaces and tabs (most values have none: no copy then).
    public static func trimmed(_ value: String) -> String {
        let utf8 = value.utf8
        guard let first = utf8.first, let last = utf8.last,
            first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09
        else { return value }
        return value.trimmingCharacters(in: .whitespaces)
    }

    /// Whether `text` has a length in `length` and only letters of any script, ASCII digits if
    /// `digits`, and `punctuation`. Plain ASCII is checked byte by byte, without grapheme breaking
    /// or the Unicode tables (bulk loads check hundreds of millions of characters).
    public static func isText(_ text: String, length: ClosedRange<Int>, digits: Bool, punctuation: String) -> Bool {
        let utf8 = text.utf8
        if utf8.allSatisfy({ $0 < 0x80 }) {
            guard length.contains(utf8.count) else { return false }
            return utf8.allSatisfy { byte in
                let lower = byte | 0x20
                return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z"))
                    || (digits && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || punctuation.utf8.contains(byte)
            }
        }
        guard length.contains(text.count) else { return false }
        return text.allSatisfy { character in
            if let ascii = character.asciiValue {
                return (ascii | 0x20 >= UInt8(ascii: "a") && ascii | 0x20 <= UInt8(ascii: "z"))
                    || (digits && ascii >= UInt8(ascii: "0") && ascii <= UInt8(ascii: "9"))
                    || punctuation.utf8.contains(ascii)
            }
            return character.isLetter || punctuation.contains(character)
        }
    }

    /// A reason for access: a known code, and optional text.
    public static func reason(_ reason: Contactpoint_V1_AccessReason, hasReason: Bool) throws(RPCError)
        -> Contactpoint_V1_AccessReason
    {
        guard hasReason, reason.code.code != nil else {
            throw invalid(
                "reason.code",
                "a reason for access is required: " + Contactpoint_V1_ReasonCode.codes.joined(separator: ", "))
        }
        var valid = reason
        valid.text = try reasonText(reason.text, "reason.text")
        return valid
    }

    /// The reason text beside a reason code: at most 200 characters, no control characters.
    public static func reasonText(_ value: String, _ field: String) throws(RPCError) -> String {
        guard value.count <= 200,
            value.unicodeScalars.allSatisfy({
                ![.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
            })
        else { throw invalid(field, "at most 200 characters, no control characters") }
        return value
    }
}

/// A UK postcode: outward code (area letters, district digit and an optional digit or letter)
/// and inward code (a digit and two letters), as Royal Mail defines their shape.
public struct Postcode: Sendable, Equatable {
    /// Upper case, one space: "SW1A 1AA".
    public let text: String
    /// The outward code of a postcode in its standard form: "SW1A 1AA" → "SW1A".
    public static func outward(of text: String) -> Substring { text.prefix { $0 != " " } }

    public init?(_ value: String) {
        let compact = value.uppercased().filter { $0 != " " }
        guard (5...7).contains(compact.count), compact.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return nil
        }
        let inward = compact.suffix(3)
        let outward = compact.dropLast(3)
        guard inward.first!.isNumber, inward.dropFirst().allSatisfy({ $0.isLetter && !"CIKMOV".contains($0) }) else {
            return nil
        }
        guard Self.isOutward(outward) else { return nil }
        text = "\(outward) \(inward)"
    }

    /// Whether `text` is an outward code alone ("SW1A", "M1").
    public static func isOutward(_ text: some StringProtocol) -> Bool {
        let area = text.prefix(while: \.isLetter)
        let district = text.dropFirst(area.count)
        guard (1...2).contains(area.count), area.allSatisfy(\.isASCII), !"QVX".contains(area.first!),
            (1...2).contains(district.count),
            district.first!.isASCII, district.first!.isNumber,
            district.dropFirst().allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLetter) })
        else { return false }
        return true
    }
}
