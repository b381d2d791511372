import Vocabulary

/// The kinds of organisation whose practitioners may use ContactPoint.
enum OrganisationType: String, Codable, Sendable, CaseIterable {
    case educationalSetting = "educational-setting"
    case gpPractice = "gp-practice"
    case healthTrust = "health-trust"
    case childrensServices = "childrens-services"
    case youthOffendingTeam = "youth-offending-team"
    case police
    case voluntaryOrganisation = "voluntary-organisation"
    case managementTeam = "management-team"
}

/// An account's place in its lifecycle: created inactive by an administrator, active once the
/// practitioner has enrolled (password and authenticator), suspended and reactivated, closed for good.
enum AccountStatus: String, Codable, Sendable {
    case inactive, active, suspended, closed
}

struct Organisation: Codable, Sendable, Equatable {
    var id: String
    var type: OrganisationType
    var name: String
    /// The local authority's code, e.g. "E09000033".
    var localAuthority: String
    var isActive: Bool
}

/// Vetting and training: no session while any of it is missing or has lapsed.
struct Vetting: Codable, Sendable, Equatable {
    /// When the enhanced criminal-records check was issued (it lapses after three years).
    var criminalRecordsCheckedOn: CalendarDate?
    var criminalRecordsReference: String?
    var trainingCompletedOn: CalendarDate?
    var userAgreementAcceptedOn: CalendarDate?

    static let checkValidYears = 3

    /// Why a session may not start on `today`, or `nil` if the vetting is in order.
    func lapse(on today: CalendarDate) -> String? {
        guard let checked = criminalRecordsCheckedOn, criminalRecordsReference?.isEmpty == false else {
            return "no enhanced criminal-records check is recorded"
        }
        guard today < checked.adding(years: Self.checkValidYears) else {
            return "the enhanced criminal-records check has lapsed"
        }
        guard trainingCompletedOn != nil else { return "training has not been completed" }
        guard userAgreementAcceptedOn != nil else { return "the user agreement has not been accepted" }
        return nil
    }
}

struct Practitioner: Codable, Sendable, Equatable {
    var id: String
    var organisationID: String
    var name: String
    var email: String
    var jobRole: String
    var roles: Set<Role>
    var status: AccountStatus
    var vetting: Vetting
    var isLocked: Bool
}

/// A day in the UK calendar, as vetting dates are recorded: `YYYY-MM-DD`.
struct CalendarDate: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int

    init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1900...2999).contains(year), (1...12).contains(month),
            (1...Self.days(inMonth: month, year: year)).contains(day)
        else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    init(year: Int, month: Int, day: Int) {
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// The day `unixTime` falls on in UTC.
    init(unixTime: Int64) {
        // Civil-from-days (H. Hinnant), exact for the proleptic Gregorian calendar.
        let days = Int(unixTime.dividedFloor(by: 86_400)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// The same day `years` later (29 February becomes 28 February in a common year).
    func adding(years: Int) -> CalendarDate {
        CalendarDate(year: year + years, month: month, day: min(day, Self.days(inMonth: month, year: year + years)))
    }

    static func < (a: CalendarDate, b: CalendarDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - String(n).count)) + String(n)
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = CalendarDate(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date"))
        }
        self = date
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension Int64 {
    fileprivate func dividedFloor(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
