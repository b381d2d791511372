import ContactPointAPI
import Foundation
import SecurityPrimitives

/// The reason every search and record view states: the radio buttons and reference field of
/// `reason-fields.mustache`, and the `AccessReason` they make.
enum ReasonChoice {
    static let choices: [(value: String, code: Contactpoint_V1_ReasonCode, label: String)] = [
        (
            "contact-practitioners", .contactPractitioners,
            "To find and contact the other practitioners working with the child"
        ),
        ("safeguarding-concern", .safeguardingConcern, "A concern about the child's welfare or safety"),
        ("caf-assessment", .cafAssessment, "Starting or completing a Common Assessment Framework assessment"),
        ("service-provision", .serviceProvision, "Deciding whether and how to provide a service to the child"),
        ("record-maintenance", .recordMaintenance, "Checking or correcting the record"),
    ]

    /// The template fields: each choice (the first one's id is what the error summary links to),
    /// which is checked, and the reference typed.
    static func fields(selected: String? = nil, text: String? = nil) -> [String: Any] {
        [
            "reasons": choices.map { choice -> [String: Any] in
                [
                    "id": "reason-\(choice.value)", "value": choice.value, "label": choice.label,
                    "checked": choice.value == selected,
                ]
            },
            "reasonText": text ?? "",
        ]
    }

    /// The reason the form gives, or `nil` with the errors added to `page`.
    static func reason(_ form: [String: String], _ page: inout Page) -> Contactpoint_V1_AccessReason? {
        let text = form["reason-text", default: ""].trimmingCharacters(in: .whitespaces)
        guard let choice = choices.first(where: { $0.value == form["reason"] }) else {
            page.errors.append(FieldError(field: "reason-contact-practitioners", message: "Choose why you are looking"))
            return nil
        }
        return .with {
            $0.code = choice.code
            $0.text = text
        }
    }
}

/// Words for the services' enumerations.
enum Labels {
    static func gender(_ gender: Contactpoint_V1_Gender) -> String {
        switch gender {
        case .female: "Female"
        case .male: "Male"
        case .other: "Other"
        case .notKnown, .unspecified, .UNRECOGNIZED: "Not known"
        }
    }

    static func service(_ type: Contactpoint_V1_ServiceType) -> String {
        switch type {
        case .educationalSetting: "School or college"
        case .gpPractice: "GP practice"
        case .healthVisitor: "Health visitor"
        case .schoolNurse: "School nurse"
        case .socialCare: "Children's social care"
        case .youthOffendingTeam: "Youth offending team"
        case .voluntaryService: "Voluntary service"
        case .earlyYears: "Early years"
        case .educationWelfare: "Education welfare"
        case .police: "Police"
        default: words(type)
        }
    }

    static func indicator(_ kind: Contactpoint_V1_IndicatorKind) -> String {
        switch kind {
        case .informationToShare: "Has information to share"
        case .takingAction: "Is taking action"
        case .cafCompleted: "Has completed a CAF assessment"
        default: "Indicator"
        }
    }

    static func relationship(_ relationship: Contactpoint_V1_CarerRelationship) -> String {
        relationship == .unspecified ? "Carer" : words(relationship)
    }

    /// A Swift case name as words: `stepParent` → "Step parent".
    static func words(_ value: some Any) -> String {
        let name = String(describing: value)
        let spaced = name.reduce(into: "") { text, character in
            if character.isUppercase { text += " " }
            text.append(character)
        }
        return spaced.prefix(1).uppercased() + spaced.dropFirst().lowercased()
    }
}

/// A child's record as `record.mustache` shows it: what the index returned, nothing more (for a
/// shielded record the index has already left out what must not be seen).
enum RecordPage {
    static func page(_ record: Contactpoint_V1_ChildRecord) -> Page {
        let child = record.child
        let address = ([child.address.lines.joined(separator: ", "), child.address.town, child.address.postcode])
            .filter { !$0.isEmpty }.joined(separator: ", ")
        let carers = child.carers.map { carer -> [String: Any] in
            [
                "relationship": Labels.relationship(carer.relationship),
                "name": "\(carer.name.given) \(carer.name.family)", "telephone": nonEmpty(carer.telephone),
            ]
        }
        let involvements = record.involvements.map { involvement -> [String: Any] in
            let contact = [
                involvement.contact.name, involvement.contact.role, involvement.contact.telephone,
                involvement.contact.secureEmail,
            ].filter { !$0.isEmpty }.joined(separator: ", ")
            return [
                "service": Labels.service(involvement.serviceType), "lead": involvement.leadProfessional,
                "organisation": involvement.organisationName, "contact": contact, "since": involvement.startDate,
                "indicators": involvement.indicators.map { Labels.indicator($0.kind) }.joined(separator: "; "),
            ]
        }
        let name = "\(child.name.given) \(child.name.family)"
        return Page(
            title: "Record of \(name)",
            fields: [
                "childID": child.childID, "name": name, "born": child.dateOfBirth,
                "gender": Labels.gender(child.gender),
                "otherNames": nonEmpty(child.otherNames.map { "\($0.given) \($0.family)" }.joined(separator: "; ")),
                "address": nonEmpty(address), "localAuthority": child.localAuthority, "shielded": record.shielded,
                "hasCarers": !carers.isEmpty, "carers": carers,
                "hasInvolvements": !involvements.isEmpty, "involvements": involvements,
            ], navigation: "navSearch")
    }
}

/// One alert as a row of the alerts page (and as the live event's JSON).
enum AlertRow {
    static func fields(_ alert: Contactpoint_V1_Alert) -> [String: Any] {
        let what =
            switch alert.change {
            case "involvement-recorded": "\(Labels.service(alert.from.serviceType)) recorded involvement"
            case "indicator-raised": "\(Labels.indicator(alert.indicator))"
            case "lead-professional-set": "Lead professional named"
            default: Labels.words(alert.change)
            }
        let from = [alert.from.organisationName, alert.from.contact.name, alert.from.contact.telephone]
            .filter { !$0.isEmpty }.joined(separator: ", ")
        return [
            "alertID": alert.alertID,
            "when": PortalRoutes.formatTime(seconds: alert.createdAtMs / 1000), "what": what,
            "childID": alert.childID, "childName": "\(alert.child.name.given) \(alert.child.name.family)",
            "from": from, "state": Labels.words(alert.state),
            "canAcknowledge": alert.state == .new || alert.state == .read,
            "canMarkContacted": alert.state != .contactMade,
        ]
    }
}

/// `nil` for an empty text: Mustache shows a section for any string, the empty one included.
func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

/// The passkey pages: the list, and the data the WebAuthn ceremonies need (base64url, in the
/// forms' data attributes for the page's script).
enum PasskeyPages {
    static func list(_ passkeys: [Contactpoint_V1_Passkey]) -> Page {
        Page(
            title: "Your passkeys",
            fields: [
                "hasPasskeys": !passkeys.isEmpty,
                "passkeys": passkeys.map { passkey -> [String: Any] in
                    [
                        "id": Base64URL.encode(Array(passkey.credentialID)),
                        "name": passkey.name, "added": PortalRoutes.formatTime(seconds: passkey.createdAt),
                        "lastUsed": passkey.lastUsedAt == 0
                            ? "Never" : PortalRoutes.formatTime(seconds: passkey.lastUsedAt),
                        "kind": passkey.backupEligible
                            ? "Synced passkey (\(passkey.algorithm))" : "Device-bound (\(passkey.algorithm))",
                    ]
                },
            ], navigation: "navAccount")
    }

    static func assertion(_ challenge: Contactpoint_V1_PasskeyChallenge) -> Page {
        Page(title: "Use your passkey", fields: fields(challenge))
    }

    static func creation(_ challenge: Contactpoint_V1_PasskeyChallenge, name: String) -> Page {
        var fields = fields(challenge)
        fields["userHandle"] = Base64URL.encode(Array(challenge.userHandle))
        fields["userName"] = challenge.userName
        fields["userDisplayName"] = challenge.userDisplayName
        fields["passkeyName"] = name
        return Page(title: "Create your passkey", fields: fields, navigation: "navAccount")
    }

    private static func fields(_ challenge: Contactpoint_V1_PasskeyChallenge) -> [String: Any] {
        [
            "challengeID": challenge.challengeID, "challenge": Base64URL.encode(Array(challenge.challenge)),
            "relyingPartyID": challenge.relyingPartyID,
            "credentialIDs": challenge.credentialIds.map { Base64URL.encode(Array($0)) }.joined(separator: " "),
            "timeoutMilliseconds": 110_000,
        ]
    }
}
