import ContactPointAPI
import GRPCCore
import Identifiers
import RecordFields
import Timekeeping

/// Turns requests into validated records: every field checked, a bad one refused with
/// INVALID_ARGUMENT naming it. `today` is `YYYY-MM-DD`.
enum ConsentValidation {
    typealias V = FieldValidation

    static func consent(_ request: Contactpoint_V1_RecordConsentRequest, today: String) throws(RPCError)
        -> Contactpoint_V1_ConsentRecord
    {
        var record = Contactpoint_V1_ConsentRecord()
        record.kind = .consent
        record.childID = try V.childID(request.childID, "child_id").digits
        record.scope = try scope(request.scope)
        guard request.giver.code != nil else {
            throw V.invalid("giver", Contactpoint_V1_ConsentGiver.codes.joined(separator: " or "))
        }
        record.giver = request.giver
        switch request.giver {
        case .parent:
            record.giverName.given = try V.personName(request.giverName.given, "giver_name.given")
            record.giverName.family = try V.personName(request.giverName.family, "giver_name.family")
            guard request.capacityAssessedOn.isEmpty else {
                throw V.invalid("capacity_assessed_on", "only for consent the child gives")
            }
        default:
            guard !request.hasGiverName else { throw V.invalid("giver_name", "only for consent a parent gives") }
            guard !request.capacityAssessedOn.isEmpty else {
                throw V.invalid(
                    "capacity_assessed_on", "the date a practitioner assessed the child as able to consent is required")
            }
            record.capacityAssessedOn = try V.pastDate(request.capacityAssessedOn, "capacity_assessed_on", today: today)
        }
        guard !request.givenOn.isEmpty else { throw V.invalid("given_on", "the date consent was given is required") }
        record.givenOn = try V.pastDate(request.givenOn, "given_on", today: today)
        if !record.capacityAssessedOn.isEmpty, record.capacityAssessedOn > record.givenOn {
            throw V.invalid(
                "capacity_assessed_on", "must not be after given_on: capacity is assessed before consent is taken")
        }
        record.expiresOn = try expiry(request.expiresOn, today: today)
        return record
    }

    /// Refuses a consent given, or a capacity assessed, before the child was born (`bornOn`
    /// empty: an index that does not say).
    static func notBeforeBirth(_ consent: Contactpoint_V1_ConsentRecord, bornOn: String) throws(RPCError) {
        guard !bornOn.isEmpty else { return }
        if !consent.capacityAssessedOn.isEmpty, consent.capacityAssessedOn < bornOn {
            throw V.invalid("capacity_assessed_on", "must not be before the child was born (\(bornOn))")
        }
        if consent.givenOn < bornOn {
            throw V.invalid("given_on", "must not be before the child was born (\(bornOn))")
        }
    }

    static func override(_ request: Contactpoint_V1_RecordOverrideRequest, today: String) throws(RPCError)
        -> Contactpoint_V1_ConsentRecord
    {
        var record = Contactpoint_V1_ConsentRecord()
        record.kind = .override
        record.childID = try V.childID(request.childID, "child_id").digits
        record.scope = try scope(request.scope)
        guard request.justification.code != nil else {
            throw V.invalid("justification", Contactpoint_V1_OverrideJustification.codes.joined(separator: ", "))
        }
        record.justification = request.justification
        record.parentTold = request.parentTold
        if request.parentTold {
            guard request.parentNotToldReason == .unspecified else {
                throw V.invalid("parent_not_told_reason", "only when the parent has not been told")
            }
        } else {
            guard request.parentNotToldReason.code != nil else {
                throw V.invalid(
                    "parent_not_told_reason",
                    "why the parent has not been told is required: "
                        + Contactpoint_V1_ParentNotToldReason.codes.joined(separator: ", "))
            }
            record.parentNotToldReason = request.parentNotToldReason
        }
        record.expiresOn = try expiry(request.expiresOn, today: today)
        return record
    }

    /// One or more sensitive service types, each once, in a stable order.
    static func scope(_ types: [Contactpoint_V1_ServiceType]) throws(RPCError) -> [Contactpoint_V1_ServiceType] {
        let expected = "one or more of " + Contactpoint_V1_ServiceType.sensitiveCodes.joined(separator: ", ")
        guard !types.isEmpty else { throw V.invalid("scope", expected) }
        for (index, type) in types.enumerated() {
            guard type.code != nil else { throw V.invalid("scope[\(index)]", "an unknown service type: \(expected)") }
            guard type.isSensitive else {
                throw V.invalid("scope[\(index)]", "\(type.code!) needs no consent to be recorded: \(expected)")
            }
            guard !types[..<index].contains(type) else {
                throw V.invalid("scope[\(index)]", "\(type.code!) is named twice")
            }
        }
        return types.sorted { $0.rawValue < $1.rawValue }
    }

    /// A last day: empty (none), or a date today or later.
    static func expiry(_ value: String, today: String) throws(RPCError) -> String {
        guard !value.isEmpty else { return "" }
        guard CalendarDay(value) != nil else {
            throw V.invalid("expires_on", "a date as YYYY-MM-DD that exists on the calendar")
        }
        guard value >= today else { throw V.invalid("expires_on", "the last day it applies: today or later") }
        return value
    }

    /// A consent id as the service gave it.
    static func consentID(_ value: String) throws(RPCError) -> Int64 {
        guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(value)
        else {
            throw V.invalid("consent_id", "a consent id as the consent service gave it")
        }
        return id
    }
}
