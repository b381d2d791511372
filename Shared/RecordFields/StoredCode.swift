public import ContactPointAPI

/// The text each enumeration is stored as (and checked against in the schema) and shown as in
/// the audit trail and the CLI: stable codes, independent of the protobuf numbering.
public protocol StoredCode: CaseIterable, Hashable {
    /// `nil` for the unspecified value, which is never stored.
    var code: String? { get }
}

extension StoredCode {
    public init?(code: String) {
        guard let value = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = value
    }

    /// The stored codes, quoted for a CHECK constraint: 'a','b',…
    public static var sqlList: String { allCases.compactMap(\.code).map { "'\($0)'" }.joined(separator: ",") }
    public static var codes: [String] { allCases.compactMap(\.code) }
}

extension Contactpoint_V1_ServiceType: StoredCode {
    public var code: String? {
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
    public var isSensitive: Bool { [.camhs, .sexualHealth, .mentalHealth, .substanceMisuse].contains(self) }
}

extension Contactpoint_V1_ReasonCode: StoredCode {
    public var code: String? {
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
