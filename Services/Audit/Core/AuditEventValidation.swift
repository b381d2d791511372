import ContactPointAPI
import GRPCCore
import Identifiers

/// What the log accepts: identifiers, codes and names of fields, each checked for shape and
/// length, so that no free text beyond the short reason can enter the trail. A bad field is
/// INVALID_ARGUMENT naming it (`events[3].child_ids[0]`).
enum AuditEventValidation {
    static let maximumEventsPerCall = 1000
    static let maximumChildren = 1000

    static func validate(_ events: [Contactpoint_V1_AuditEvent], nowMS: Int64) throws(RPCError) {
        guard !events.isEmpty else { throw invalid("events", "give at least one event") }
        guard events.count <= maximumEventsPerCall else {
            throw invalid("events", "at most \(maximumEventsPerCall) per call")
        }
        for (index, event) in events.enumerated() { try validate(event, field: "events[\(index)]", nowMS: nowMS) }
    }

    static func validate(_ event: Contactpoint_V1_AuditEvent, field: String, nowMS: Int64) throws(RPCError) {
        try check(event.eventID, "\(field).event_id", pattern: .identifier, length: 1...64)
        // Up to five minutes of clock skew between hosts is tolerated.
        guard event.occurredAtMs > 0, event.occurredAtMs <= nowMS + 300_000 else {
            throw invalid("\(field).occurred_at_ms", "Unix milliseconds, not in the future")
        }
        let action = event.action.split(separator: "/", omittingEmptySubsequences: false)
        guard action.count == 2,
            action.allSatisfy({ (1...40).contains($0.count) && $0.allSatisfy(Pattern.code.allows) })
        else {
            throw invalid("\(field).action", "`service/verb` in lower case, digits and hyphens")
        }
        switch event.category {
        case .disclosure, .authentication, .administration, .change, .review: break
        default: throw invalid("\(field).category", "disclosure, authentication, administration, change or review")
        }
        guard event.outcome == .permitted || event.outcome == .denied else {
            throw invalid("\(field).outcome", "permitted or denied")
        }
        guard [.none, .shield, .consent].contains(event.override) else {
            throw invalid("\(field).override", "none, shield or consent")
        }
        try check(event.actor.practitionerID, "\(field).actor.practitioner_id", pattern: .identifier, length: 0...64)
        try check(event.actor.organisationID, "\(field).actor.organisation_id", pattern: .identifier, length: 0...64)
        try check(event.actor.localAuthority, "\(field).actor.local_authority", pattern: .identifier, length: 0...16)
        for (i, role) in event.actor.roles.enumerated() {
            try check(role, "\(field).actor.roles[\(i)]", pattern: .code, length: 1...40)
        }
        guard
            event.actor.sessionHash.isEmpty
                || (event.actor.sessionHash.count == 64 && event.actor.sessionHash.allSatisfy(\.isHexDigit))
        else { throw invalid("\(field).actor.session_hash", "64 hex digits (SHA-256 of the session id), or empty") }
        guard event.actor.route.utf8.count <= 200,
            event.actor.route.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 })
        else {
            throw invalid("\(field).actor.route", "a bus principal: up to 200 printable ASCII characters, or empty")
        }
        try check(event.service, "\(field).service", pattern: .code, length: 1...40)
        try check(event.instance, "\(field).instance", pattern: .identifier, length: 0...128)
        guard event.childIds.count <= maximumChildren else {
            throw invalid("\(field).child_ids", "at most \(maximumChildren)")
        }
        for (i, child) in event.childIds.enumerated() where ContactPointID(child) == nil {
            throw invalid("\(field).child_ids[\(i)]", "a ContactPoint ID (10 digits with a valid check digit)")
        }
        guard event.disclosedFields.count <= 100 else { throw invalid("\(field).disclosed_fields", "at most 100") }
        for (i, name) in event.disclosedFields.enumerated() {
            try check(name, "\(field).disclosed_fields[\(i)]", pattern: .identifier, length: 1...64)
        }
        try check(event.subjectID, "\(field).subject_id", pattern: .identifier, length: 0...64)
        try check(event.reasonCode, "\(field).reason_code", pattern: .code, length: 0...40)
        guard event.reasonText.count <= 200,
            event.reasonText.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl })
        else { throw invalid("\(field).reason_text", "at most 200 characters, no control characters") }
        try check(event.outcomeReason, "\(field).outcome_reason", pattern: .code, length: 0...60)
        try check(
            event.access.childLocalAuthority, "\(field).access.child_local_authority", pattern: .identifier,
            length: 0...16)
    }

    enum Pattern {
        /// Lower-case codes: `index`, `view-record`, `la-administrator`.
        case code
        /// Ids and names: letters, digits and `._:-`.
        case identifier

        func allows(_ character: Character) -> Bool {
            guard character.isASCII else { return false }
            switch self {
            case .code: return character.isLowercase || character.isNumber || character == "-"
            case .identifier: return character.isLetter || character.isNumber || "._:-".contains(character)
            }
        }
    }

    private static func check(_ value: String, _ field: String, pattern: Pattern, length: ClosedRange<Int>)
        throws(RPCError)
    {
        guard length.contains(value.count), value.allSatisfy(pattern.allows) else {
            let shape = pattern == .code ? "lower-case letters, digits and hyphens" : "letters, digits and ._:-"
            throw invalid(field, "\(length.lowerBound)–\(length.upperBound) characters of \(shape)")
        }
    }

    static func invalid(_ field: String, _ expectation: String) -> RPCError {
        RPCError(code: .invalidArgument, message: "\(field): expected \(expectation)")
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControl: Bool {
        self == .control || self == .format || self == .lineSeparator || self == .paragraphSeparator
    }
}
