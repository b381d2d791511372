import ContactPointAPI

/// The text each enumeration is stored as (and checked against in the schema) and shown as in
/// the audit trail and the CLI: stable codes, independent of the protobuf numbering.
protocol StoredCode: CaseIterable, Hashable {
    /// `nil` for the unspecified value, which is never stored.
    var code: String? { get }
}

extension StoredCode {
    init?(code: String) {
        guard let value = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = value
    }

    /// The stored codes, quoted for a CHECK constraint: 'a','b',…
    static var sqlList: String { allCases.compactMap(\.code).map { "'\($0)'" }.joined(separator: ",") }
    static var codes: [String] { allCases.compactMap(\.code) }
}

extension Contactpoint_V1_Gender: StoredCode {
    var code: String? {
        switch self {
        case .female: "female"
        case .male: "male"
        case .other: "other"
        case .notKnown: "not-known"
        default: nil
        }
    }
}

extension Contactpoint_V1_ChildStatus: StoredCode {
    var code: String? {
        switch self {
        case .active: "active"
        case .archived: "archived"
        case .deceased: "deceased"
        default: nil
        }
    }
}

extension Contactpoint_V1_CarerRelationship: StoredCode {
    var code: String? {
        switch self {
        case .mother: "mother"
        case .father: "father"
        case .stepParent: "step-parent"
        case .grandparent: "grandparent"
        case .otherRelative: "other-relative"
        case .fosterCarer: "foster-carer"
        case .guardian: "guardian"
        case .other: "other"
        default: nil
        }
    }
}

extension Contactpoint_V1_ServiceType: StoredCode {
    var code: String? {
        switch self {
        case .educationalSetting: "educational-setting"
        case .gpPractice: "gp-practice"
        case .healthVisitor: "health-visitor"
        case .schoolNurse: "school-nurse"
        case .socialCare: "social-care"
        case .youthOffendingTeam: "youth-offending-team"
        case .voluntaryService: "voluntary-service"
        case .earlyYears: "early-years"
        case .educationWelfare: "education-welfare"
        case .police: "police"
        case .camhs: "camhs"
        case .sexualHealth: "sexual-health"
        case .mentalHealth: "mental-health"
        case .substanceMisuse: "substance-misuse"
        default: nil
        }
    }

    /// Sexual health, mental health (CAMHS included) and substance misuse: recorded and shown to
    /// other agencies only with consent or a named-person override.
    var isSensitive: Bool { [.camhs, .sexualHealth, .mentalHealth, .substanceMisuse].contains(self) }
}

extension Contactpoint_V1_IndicatorKind: StoredCode {
    var code: String? {
        switch self {
        case .informationToShare: "information-to-share"
        case .takingAction: "taking-action"
        case .cafCompleted: "caf-completed"
        default: nil
        }
    }
}

extension Contactpoint_V1_ReasonCode: StoredCode {
    var code: String? {
        switch self {
        case .contactPractitioners: "contact-practitioners"
        case .safeguardingConcern: "safeguarding-concern"
        case .cafAssessment: "caf-assessment"
        case .serviceProvision: "service-provision"
        case .recordMaintenance: "record-maintenance"
        default: nil
        }
    }
}

extension Contactpoint_V1_ShieldOverrideJustification: StoredCode {
    var code: String? {
        switch self {
        case .riskOfSignificantHarm: "risk-of-significant-harm"
        case .statutoryDuty: "statutory-duty"
        default: nil
        }
    }
}
