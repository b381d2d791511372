import ContactPointAPI
import RecordFields

// The consent service's enumerations as stored codes.

extension Contactpoint_V1_ConsentKind: StoredCode {
    public var code: String? {
        switch self {
        case .consent: "consent"
        case .override: "override"
        default: nil
        }
    }
}

extension Contactpoint_V1_ConsentGiver: StoredCode {
    public var code: String? {
        switch self {
        case .parent: "parent"
        case .child: "child"
        default: nil
        }
    }
}

extension Contactpoint_V1_OverrideJustification: StoredCode {
    public var code: String? {
        switch self {
        case .askingWouldIncreaseRisk: "asking-would-increase-risk"
        case .refusedSignificantHarm: "refused-significant-harm"
        case .cannotObtainInTime: "cannot-obtain-in-time"
        case .wouldPrejudiceCrimePrevention: "would-prejudice-crime-prevention"
        default: nil
        }
    }
}

extension Contactpoint_V1_ParentNotToldReason: StoredCode {
    public var code: String? {
        switch self {
        case .wouldIncreaseRisk: "would-increase-risk"
        case .wouldPrejudiceEnquiry: "would-prejudice-enquiry"
        case .cannotBeContacted: "cannot-be-contacted"
        default: nil
        }
    }
}

extension Contactpoint_V1_ServiceType {
    /// The service types consent governs, as their codes.
    static var sensitiveCodes: [String] { allCases.filter(\.isSensitive).compactMap(\.code) }
}
