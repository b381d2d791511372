import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import RecordFields
import SwiftProtobuf

/// Runs `body` with an index client over the bus.
func withIndex<T: Sendable>(
    _ bus: BusClientOptions, _ body: @Sendable (Contactpoint_V1_Index.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_Index.Client(wrapping: $0)) }
}

/// The reason every search and view states.
struct ReasonOptions: ParsableArguments {
    @Option(
        help:
            """
            Why you look the child up: contact-practitioners, safeguarding-concern, caf-assessment, \
            service-provision or record-maintenance.
            """
    )
    var reason: String
    @Option(help: "An optional reference or short explanation (at most 200 characters; never case information).")
    var reasonText: String?

    func accessReason() throws -> Contactpoint_V1_AccessReason {
        let code: Contactpoint_V1_ReasonCode = try enumValue(reason, "--reason")
        return .with {
            $0.code = code
            $0.text = reasonText ?? ""
        }
    }
}

/// `contactpoint search`: find a child, stating why.
struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find a child by name, date of birth and place; every search is recorded with its reason.",
        discussion:
            """
            Give a given and a family name; or a name and a date of birth or full postcode; or a date of birth and \
            a postcode or local authority; or a full postcode.
            """
    )

    @OptionGroup var bus: BusClientOptions
    @OptionGroup var reason: ReasonOptions
    @Option(help: "Given name (nicknames and misspellings are matched).") var given: String?
    @Option(help: "Family name (former names and either half of a hyphenated name are matched).") var family: String?
    @Option(help: "Date of birth: YYYY-MM-DD, or YYYY-MM or YYYY when only the month or year is known.")
    var born: String?
    @Option(help: "Born on or after, YYYY-MM-DD.") var bornFrom: String?
    @Option(help: "Born on or before, YYYY-MM-DD.") var bornTo: String?
    @Option(help: "A postcode or its outward part (SW1A).") var postcode: String?
    @Option(help: "A local authority code.") var localAuthority: String?
    @OptionGroup var output: JSONOutput

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let accessReason = try reason.accessReason()
        let request = Contactpoint_V1_SearchChildrenRequest.with {
            $0.reason = accessReason
            $0.givenName = given ?? ""
            $0.familyName = family ?? ""
            $0.dateOfBirth = born ?? ""
            $0.bornFrom = bornFrom ?? ""
            $0.bornTo = bornTo ?? ""
            $0.postcode = postcode ?? ""
            $0.localAuthority = localAuthority ?? ""
        }
        let found = try await withIndex(bus) { try await $0.searchChildren(request, metadata: metadata) }
        if try output.printed(found) { return }
        if found.matches.isEmpty, !found.moreMatches { print("no child matches") }
        if !found.matches.isEmpty {
            printColumns(
                [["CHILD ID", "MATCH", "NAME", "BORN", "GENDER", "AUTHORITY", "DISTRICT"]]
                    + found.matches.map { match in
                        [
                            match.childID, String(match.score), "\(match.givenName) \(match.familyName)",
                            match.dateOfBirth, match.gender.name, match.localAuthority, match.postcodeDistrict,
                        ]
                    })
            print("MATCH: how well the child fits what you asked, 100 exactly; below 80 is never shown.")
        }
        if found.moreMatches {
            // Without matches, "more" means too many children fit to read them all, not none.
            print(
                found.matches.isEmpty
                    ? "too many children fit to check them all: add details (a family name, fewer dates, a postcode)"
                    : "more children match: add details to narrow the search")
        }
    }
}

/// `contactpoint view`: a child's record, stating why.
struct View: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a child's record; every view is recorded with its reason.")

    @OptionGroup var bus: BusClientOptions
    @OptionGroup var reason: ReasonOptions
    @Argument(help: "The child's ContactPoint ID.") var childID: String
    @OptionGroup var output: JSONOutput
    @Option(
        help:
            """
            Named persons only, after `contactpoint step-up`: see a shielded record's hidden details \
            (risk-of-significant-harm or statutory-duty). Reviewed by auditors.
            """
    )
    var shieldOverride: String?

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let accessReason = try reason.accessReason()
        var request = Contactpoint_V1_ViewRecordRequest.with {
            $0.reason = accessReason
            $0.childID = childID
        }
        if let shieldOverride {
            let justification: Contactpoint_V1_ShieldOverrideJustification = try enumValue(
                shieldOverride, "--shield-override")
            request.shieldOverride = .with { $0.justification = justification }
        }
        let call = request
        let record = try await withIndex(bus) { try await $0.viewRecord(call, metadata: metadata) }
        if try output.printed(record) { return }
        print(RecordText.render(record))
    }
}

/// Text rendering of a record for the terminal.
enum RecordText {
    static func render(_ record: Contactpoint_V1_ChildRecord) -> String {
        let child = record.child
        var lines = ["\(child.name.given) \(child.name.family)  (ContactPoint ID \(child.childID))"]
        lines.append("  born \(child.dateOfBirth), \(child.gender.name), \(child.localAuthority), \(child.status.name)")
        for other in child.otherNames { lines.append("  also known as \(other.given) \(other.family)") }
        if record.shielded {
            lines.append(
                record.shieldOverridden
                    ? "  SHIELDED record shown by override (this view is reviewed)"
                    : """
                      shielded record: its address, carers and other organisations' involvements are hidden; make \
                    enquiries through the ContactPoint team of \(child.localAuthority)
                    """)
        }
        if child.hasAddress { lines.append("  address: \(address(child.address))") }
        for old in child.previousAddresses { lines.append("  previously: \(address(old))") }
        for carer in child.carers {
            var line = "  carer: \(carer.name.given) \(carer.name.family), \(carer.relationship.name)"
            if carer.parentalResponsibility { line += ", parental responsibility" }
            if !carer.telephone.isEmpty { line += ", tel \(carer.telephone)" }
            lines.append(line)
        }
        if record.involvements.isEmpty { lines.append("  no services recorded") }
        for involvement in record.involvements {
            var line =
                """
                  [\(involvement.involvementID)] \(involvement.serviceType.name): \(involvement.organisationName) \
                since \(involvement.startDate)
                """
            if !involvement.endDate.isEmpty { line += " until \(involvement.endDate)" }
            if involvement.leadProfessional { line += "  LEAD PROFESSIONAL" }
            lines.append(line)
            if involvement.hasContact {
                let contact = involvement.contact
                lines.append(
                    """
                          contact \(contact.name) (\(contact.role)) \
                    \([contact.telephone, contact.secureEmail].filter { !$0.isEmpty }.joined(separator: ", "))
                    """
                )
            }
            for indicator in involvement.indicators {
                lines.append("      \(indicator.kind.name) since \(indicator.raisedOn)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func address(_ address: Contactpoint_V1_Address) -> String {
        (address.lines + [address.town, address.postcode]).filter { !$0.isEmpty }.joined(separator: ", ")
    }
}

/// `contactpoint involvement`: your organisation's involvement with a child.
struct InvolvementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "involvement",
        abstract:
            "Record or end your organisation's involvement with a child, raise indicators, mark the lead professional.",
        subcommands: [Record.self, End.self, Indicator.self, Lead.self])

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that your organisation works with a child; the other agencies involved are told.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The child's ContactPoint ID.") var childID: String
        @Option(
            help:
                """
                The service type, e.g. educational-setting, gp-practice, social-care, youth-offending-team, \
                voluntary-service.
                """
        )
        var service: String
        @Option(help: "Your organisation's name as others should see it.") var organisationName: String
        @Option(help: "The practitioner to contact.") var contactName: String
        @Option(help: "Their job role.") var contactRole: String
        @Option(help: "Their telephone number.") var telephone: String?
        @Option(help: "Their secure email address.") var email: String?
        @Option(help: "Start date, YYYY-MM-DD (default today).") var start: String?
        @OptionGroup(title: "Consent, for a sensitive service (CAMHS, sexual health, mental health, substance misuse)")
        var consent: GivenConsentOptions

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let type: Contactpoint_V1_ServiceType = try enumValue(service, "--service")
            let givenConsent = try consent.request()
            let request = Contactpoint_V1_RecordInvolvementRequest.with {
                $0.childID = childID
                $0.involvement = .with {
                    $0.serviceType = type
                    $0.organisationName = organisationName
                    $0.contact = .with {
                        $0.name = contactName
                        $0.role = contactRole
                        $0.telephone = telephone ?? ""
                        $0.secureEmail = email ?? ""
                    }
                    $0.startDate = start ?? ""
                }
                if let givenConsent { $0.consent = givenConsent }
            }
            let involvement = try await withIndex(bus) {
                try await $0.recordInvolvement(request, metadata: metadata.withNewIdempotencyKey())
            }
            print(
                """
                recorded involvement \(involvement.involvementID): \(involvement.serviceType.name) since \
                \(involvement.startDate)
                """
            )
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End your organisation's involvement (it stays on record with its end date).")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The involvement's id.") var involvementID: String
        @Option(help: "End date, YYYY-MM-DD (default today).") var on: String?

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let ended = try await withIndex(bus) {
                try await $0.endInvolvement(
                    .with {
                        $0.involvementID = involvementID
                        $0.endDate = on ?? ""
                    }, metadata: metadata.withNewIdempotencyKey())
            }
            print("involvement \(ended.involvementID) ended on \(ended.endDate)")
        }
    }

    struct Indicator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Raise or clear an indicator: information-to-share, taking-action or caf-completed.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "raise or clear.") var action: String
        @Argument(help: "The involvement's id.") var involvementID: String
        @Argument(help: "information-to-share, taking-action or caf-completed.") var kind: String

        func validate() throws {
            guard ["raise", "clear"].contains(action) else { throw ValidationError("the action is raise or clear") }
        }

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let indicator: Contactpoint_V1_IndicatorKind = try enumValue(kind, "KIND")
            let involvement = try await withIndex(bus) {
                try await $0.setIndicator(
                    .with {
                        $0.involvementID = involvementID
                        $0.kind = indicator
                        $0.raised = action == "raise"
                    }, metadata: metadata.withNewIdempotencyKey())
            }
            print(
                """
                involvement \(involvement.involvementID): \
                \(involvement.indicators.map(\.kind.name).joined(separator: ", ").nonEmptyOr("no indicators"))
                """
            )
        }
    }

    struct Lead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark (or with --clear unmark) your involvement as the lead professional's.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The involvement's id.") var involvementID: String
        @Flag(help: "Unmark instead.") var clear = false

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let involvement = try await withIndex(bus) {
                try await $0.setLeadProfessional(
                    .with {
                        $0.involvementID = involvementID
                        $0.lead = !clear
                    }, metadata: metadata.withNewIdempotencyKey())
            }
            print(
                """
                involvement \(involvement.involvementID): \
                \(involvement.leadProfessional ? "lead professional" : "not the lead professional")
                """
            )
        }
    }
}

/// `contactpoint shield`: hide a child's address, carers and contacts from ordinary users.
struct Shield: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Shield a child's record (local-authority administrators of the child's authority).")
    @OptionGroup var bus: BusClientOptions
    @Argument(help: "The child's ContactPoint ID.") var childID: String
    @Flag(help: "Remove the shield instead.") var remove = false

    func run() async throws {
        let metadata = try bus.sessionMetadata()
        let result = try await withIndex(bus) {
            try await $0.setShield(
                .with {
                    $0.childID = childID
                    $0.shielded = !remove
                }, metadata: metadata)
        }
        print("\(result.childID) \(result.shielded ? "shielded" : "no longer shielded")")
    }
}

extension String {
    func nonEmptyOr(_ fallback: String) -> String { isEmpty ? fallback : self }
}
