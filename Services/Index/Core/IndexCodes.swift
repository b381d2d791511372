import ContactPointAPI
import RecordFields

// The index's own enumerations as stored codes (the shared ones are in RecordFields).

extension Contactpoint_V1_Gender: StoredCode {
    public var code: String? {
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
    public var code: String? {
        switch self {
        case .active: "active"
        case .archived: "archived"
        case .deceased: "deceased"
        default: nil
        }
    }
}

extension Contactpoint_V1_CarerRelationship: StoredCode {
    public var code: String? {
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

extension Contactpoint_V1_IndicatorKind: StoredCode {
    public var code: String? {
        switch self {
        case .informationToShare: "information-to-share"
        case .takingAction: "taking-action"
        case .cafCompleted: "caf-completed"
        default: nil
        }
    }
}

extension Contactpoint_V1_ShieldOverrideJustification: StoredCode {
    public var code: String? {
        switch self {
        case .riskOfSignificantHarm: "risk-of-significant-harm"
        case .statutoryDuty: "statutory-duty"
        default: nil
        }
    }
}
