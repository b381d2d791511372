import ContactPointAPI
import GRPCCore
import RecordFields
import Timekeeping

/// A search as the index runs it: the request validated and folded, and how well a child fits it
/// (``SearchQuery/score(_:)``, in SearchQuery+Fit.swift). The store gathers the candidates
/// (IndexStore+Search.swift).
struct SearchQuery: Sendable {
    /// A name as asked: folded, its parts, every name its parts are also known by (a given
    /// name's nicknames and full names), and the sound codes those are filed under.
    struct AskedName: Sendable {
        let folded: String
        let parts: [String]
        let variants: Set<String>
        let codes: Set<String>
        /// The sound codes a one-letter misspelling of any part is filed under.
        var codesOneEditAway: Set<String> { Set(parts.flatMap(NameMatching.soundCodesOneEditAway)) }

        init(_ folded: String, nicknames: Nicknames?) {
            self.folded = folded
            parts = NameMatching.parts(folded)
            variants = Set(parts).union(parts.flatMap { nicknames?.variants(of: $0) ?? [] })
            codes = Set(variants.map(NameMatching.soundCode))
        }
    }

    var given: AskedName?
    var family: AskedName?
    /// Inclusive `YYYY-MM-DD` bounds of the date of birth.
    var bornFrom: String?
    var bornTo: String?
    /// The one date of birth asked, when it was exact. Children born on a near date (day and
    /// month the other way round, a day either side, the same day a year either side) fit too,
    /// less well: the date may have been taken down wrong.
    private(set) var exactBirth: String?
    private(set) var nearBirths: [String: Double] = [:]
    /// Of the near dates, the exact one with day and month swapped (none when they are equal or
    /// the day cannot be a month): looked under with the exact date itself.
    var swappedBirth: [String] { nearBirths.filter { $0.value == Fit.birthDayAndMonthSwapped }.map(\.key) }
    /// A full postcode ("SW1A 1AA") or an outward code ("SW1A").
    var postcode: String?
    var isFullPostcode = false
    var localAuthority: String?

    static let pageSize = 20
    /// The widest date-of-birth range read child by child when a family name was given (a name
    /// misspelt beyond its sound code); without a family name any range is.
    static let narrowBirthRangeDays = 7

    /// Validates a request. A search needs enough to pick a child, not to trawl: a given and a
    /// family name; or a name and a date of birth or a full postcode; or a date of birth and a
    /// place; or a full postcode (one street's children at most).
    init(_ request: Contactpoint_V1_SearchChildrenRequest, today: String, nicknames: Nicknames) throws(RPCError) {
        typealias V = FieldValidation
        if !request.givenName.isEmpty {
            given = AskedName(
                NameMatching.fold(try V.personName(request.givenName, "given_name")), nicknames: nicknames)
        }
        if !request.familyName.isEmpty {
            family = AskedName(NameMatching.fold(try V.personName(request.familyName, "family_name")), nicknames: nil)
        }
        if !request.dateOfBirth.isEmpty {
            guard request.bornFrom.isEmpty, request.bornTo.isEmpty else {
                throw V.invalid(
                    "date_of_birth", "give either a date of birth or a range (born_from, born_to), not both")
            }
            (bornFrom, bornTo) = try Self.birthDates(request.dateOfBirth, today: today)
            if bornFrom == bornTo, let exact = bornFrom {
                exactBirth = exact
                nearBirths = Self.nearDates(to: exact, today: today)
            }
        }
        if !request.bornFrom.isEmpty { bornFrom = try V.pastDate(request.bornFrom, "born_from", today: today) }
        if !request.bornTo.isEmpty { bornTo = try V.pastDate(request.bornTo, "born_to", today: "9999-12-31") }
        if let from = bornFrom, let to = bornTo, from > to {
            throw V.invalid("born_to", "must not be before born_from")
        }
        if !request.postcode.isEmpty {
            let compact = request.postcode.uppercased().filter { $0 != " " }
            if Postcode.isOutward(compact) {
                postcode = compact
            } else {
                postcode = try V.postcode(request.postcode, "postcode")
                isFullPostcode = true
            }
        }
        if !request.localAuthority.isEmpty {
            localAuthority = try V.localAuthority(request.localAuthority, "local_authority")
        }
        let named = given != nil || family != nil
        let born = bornFrom != nil || bornTo != nil
        let placed = postcode != nil || localAuthority != nil
        guard (given != nil && family != nil) || (named && born) || (born && placed) || isFullPostcode else {
            throw V.invalid(
                "family_name",
                """
                give a given and a family name; or a name and a date of birth or full postcode; or a date of birth \
                and a postcode or local authority; or a full postcode
                """
            )
        }
    }

    /// The inclusive bounds of a date of birth given whole (`YYYY-MM-DD`, or `YYYY-DD-MM` where
    /// only that reading is a date) or in part: a month (`YYYY-MM`) or a year (`YYYY`).
    private static func birthDates(_ text: String, today: String) throws(RPCError) -> (String, String) {
        let field = "date_of_birth"
        let expected = "a date as YYYY-MM-DD, or YYYY-MM or YYYY when only the month or year is known"
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count < 3 else {
            // "2013-30-09" can only be the 30th of September, written day before month.
            if CalendarDay(text) == nil, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[2]),
                let day = Int(parts[1]), let swapped = CalendarDay(year: year, month: month, day: day)
            {
                let exact = try FieldValidation.pastDate(swapped.description, field, today: today)
                return (exact, exact)
            }
            let exact = try FieldValidation.pastDate(text, field, today: today)
            return (exact, exact)
        }
        guard parts[0].count == 4, let year = Int(parts[0]), year >= 1900 else {
            throw FieldValidation.invalid(field, expected)
        }
        var from = CalendarDay(year: year, month: 1, day: 1)!
        var to = CalendarDay(year: year, month: 12, day: 31)!
        if parts.count == 2 {
            guard parts[1].count == 2, let month = Int(parts[1]), (1...12).contains(month) else {
                throw FieldValidation.invalid(field, expected)
            }
            from = CalendarDay(year: year, month: month, day: 1)!
            to = CalendarDay(year: year, month: month, day: CalendarDay.days(inMonth: month, year: year))!
        }
        guard from.description <= today else { throw FieldValidation.invalid(field, "must not be in the future") }
        return (from.description, min(to.description, today))
    }

    /// Dates a date of birth is commonly mistaken for, each with how well it still fits.
    private static func nearDates(to exact: String, today: String) -> [String: Double] {
        guard let day = CalendarDay(exact) else { return [:] }
        var near: [String: Double] = [:]
        for other in [day.adding(days: -1), day.adding(days: 1), day.adding(years: -1), day.adding(years: 1)] {
            near[other.description] = SearchQuery.Fit.nearBirth
        }
        if let swapped = CalendarDay(year: day.year, month: day.day, day: day.month), swapped != day {
            near[swapped.description] = SearchQuery.Fit.birthDayAndMonthSwapped
        }
        return near.filter { $0.key <= today && $0.key != exact }
    }

    /// The inclusive date-of-birth bounds, either end open; nil without any.
    var birthRange: (String, String)? {
        bornFrom.map { ($0, bornTo ?? "9999-12-31") } ?? bornTo.map { ("0000-01-01", $0) }
    }

    /// The dates of birth worth reading child by child: an exact date and the date with day and
    /// month swapped, or a range of at most ``narrowBirthRangeDays``; nil for a wider range.
    var narrowBirthDates: BirthDates? {
        if let exact = exactBirth {
            return .days([exact] + swappedBirth)
        }
        guard let from = bornFrom.flatMap(CalendarDay.init), let to = bornTo.flatMap(CalendarDay.init),
            from.days(until: to) <= Self.narrowBirthRangeDays
        else { return nil }
        return .range(from.description, to.description)
    }

    /// The dates of birth a child filed under the query's names may have: the exact date and the
    /// near ones, or the range; nil when no date was given.
    var birthDates: BirthDates? {
        if let exact = exactBirth { return .days([exact] + nearBirths.keys.sorted()) }
        return birthRange.map { .range($0.0, $0.1) }
    }

    /// ``birthDates`` in the order to look under them: the exact date and the date with day and
    /// month swapped (most searches end there, at an index entry or two per code; the swapped
    /// date with it, as another child may have been born on the date as written) before the near
    /// ones; or the range, or no date at all.
    var birthDateRounds: [BirthDates?] {
        guard let exact = exactBirth else { return [birthDates] }
        return [.days([exact] + swappedBirth), .days(nearBirths.keys.filter { !swappedBirth.contains($0) }.sorted())]
    }

    enum BirthDates {
        case days([String])
        case range(String, String)
    }
}
