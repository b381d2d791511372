import Timekeeping
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
    var criminalRecordsCheckedOn: CalendarDay?
    var criminalRecordsReference: String?
    var trainingCompletedOn: CalendarDay?
    var userAgreementAcceptedOn: CalendarDay?
    /// The practitioner's home postcode (standard form), when the check gave it: what a
    /// disclosure is compared with for the shares-surname-and-postcode review rule.
    var homePostcode: String? = nil

    static let checkValidYears = 3

    /// Why a session may not start on `today`, or `nil` if the vetting is in order.
    func lapse(on today: CalendarDay) -> String? {
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
