import ArgumentParser
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore

/// Runs `body` with a consent client over the bus.
func withConsent<T: Sendable>(
    _ bus: BusClientOptions, _ body: @Sendable (Contactpoint_V1_Consent.Client<BusClientTransport>) async throws -> T
) async throws -> T {
    try await withBusClient(bus) { try await body(Contactpoint_V1_Consent.Client(wrapping: $0)) }
}

/// `contactpoint consent`: consent for sensitive services, its withdrawal, and named-person overrides.
struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent",
        abstract:
            """
            Record, withdraw and show consent for sensitive services (CAMHS, sexual health, mental health, \
            substance misuse).
            """,
        discussion:
            """
            A sensitive service's involvement is recorded on the index and shown to other agencies only while a \
            consent or a named-person override covers it.
            """,
        subcommands: [Record.self, Override.self, Withdraw.self, Show.self])

    /// The sensitive services a consent or override covers.
    struct ScopeOptions: ParsableArguments {
        @Option(
            help:
                """
                A sensitive service it covers: camhs, sexual-health, mental-health or substance-misuse (repeat, \
                or separate with commas).
                """
        )
        var scope: [String]
        @Option(help: "Its last day, YYYY-MM-DD (optional: a review or expiry date).") var expiresOn: String?

        func serviceTypes() throws -> [Contactpoint_V1_ServiceType] {
            try scope.flatMap { $0.split(separator: ",") }.map { try enumValue(String($0), "--scope") }
        }
    }

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record consent given by a parent with parental responsibility or by a child able to consent.",
            discussion: """
                For practitioners of an organisation involved with the child, named persons and the child's \
                local-authority \
                administrators. A sensitive service not yet involved gives the consent with its involvement instead: \
                `contactpoint involvement record … --consent-given-by …`.
                """)
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The child's ContactPoint ID.") var childID: String
        @OptionGroup var scope: ScopeOptions
        @OptionGroup var given: GivenConsentOptions

        func validate() throws {
            guard given.consentGivenBy != nil, given.consentGivenOn != nil else {
                throw ValidationError("give --consent-given-by and --consent-given-on")
            }
        }

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let serviceTypes = try scope.serviceTypes()
            var request = try given.request()!
            request.childID = childID
            request.scope = serviceTypes
            request.expiresOn = scope.expiresOn ?? ""
            let call = request
            let recorded = try await withConsent(bus) {
                try await $0.recordConsent(call, metadata: metadata.withNewIdempotencyKey())
            }
            print(ConsentText.render(recorded))
        }
    }

    struct Override: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                """
                Named persons, after `contactpoint step-up`: allow a sensitive service without consent, to \
                protect the child.
                """,
            discussion: "Every override is audited and reviewed by the auditors.")
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The child's ContactPoint ID.") var childID: String
        @OptionGroup var scope: ScopeOptions
        @Option(
            help:
                """
                asking-would-increase-risk, refused-significant-harm, cannot-obtain-in-time or \
                would-prejudice-crime-prevention.
                """
        )
        var justification: String
        @Flag(help: "The parent has been told that information is being shared.") var parentTold = false
        @Option(help: "If not: would-increase-risk, would-prejudice-enquiry or cannot-be-contacted.")
        var parentNotToldBecause: String?

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let justification: Contactpoint_V1_OverrideJustification = try enumValue(justification, "--justification")
            let notTold: Contactpoint_V1_ParentNotToldReason? = try parentNotToldBecause.map {
                try enumValue($0, "--parent-not-told-because")
            }
            let serviceTypes = try scope.serviceTypes()
            let request = Contactpoint_V1_RecordOverrideRequest.with {
                $0.childID = childID
                $0.scope = serviceTypes
                $0.justification = justification
                $0.parentTold = parentTold
                if let notTold { $0.parentNotToldReason = notTold }
                $0.expiresOn = scope.expiresOn ?? ""
            }
            let recorded = try await withConsent(bus) {
                try await $0.recordOverride(request, metadata: metadata.withNewIdempotencyKey())
            }
            print(ConsentText.render(recorded))
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                """
                Withdraw a consent, or end an override (named persons), at once: the involvements it covered are \
                no longer shown to others.
                """
        )
        @OptionGroup var bus: BusClientOptions
        @Argument(help: "The consent's id, as `contactpoint consent show` lists it.") var consentID: String

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let id = consentID
            let withdrawn = try await withConsent(bus) {
                try await $0.withdraw(.with { $0.consentID = id }, metadata: metadata.withNewIdempotencyKey())
            }
            print(ConsentText.render(withdrawn))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A child's consents and overrides, newest first; every read is recorded with its reason.")
        @OptionGroup var bus: BusClientOptions
        @OptionGroup var reason: ReasonOptions
        @Argument(help: "The child's ContactPoint ID.") var childID: String
        @OptionGroup var output: JSONOutput

        func run() async throws {
            let metadata = try bus.sessionMetadata()
            let accessReason = try reason.accessReason()
            let request = Contactpoint_V1_ListConsentsRequest.with {
                $0.reason = accessReason
                $0.childID = childID
            }
            let listed = try await withConsent(bus) { try await $0.listConsents(request, metadata: metadata) }
            if try output.printed(listed) { return }
            if listed.consents.isEmpty { print("no consent or override recorded for \(childID)") }
            for record in listed.consents { print(ConsentText.render(record)) }
        }
    }
}

/// Who gave consent and when: for `consent record`, and for `involvement record` of a sensitive service.
struct GivenConsentOptions: ParsableArguments {
    @Option(help: "Who gave consent: parent (with parental responsibility) or child (assessed as able to consent).")
    var consentGivenBy: String?
    @Option(help: "When it was given, YYYY-MM-DD.") var consentGivenOn: String?
    @Option(help: "For a parent: their given name.") var parentGiven: String?
    @Option(help: "For a parent: their family name.") var parentFamily: String?
    @Option(help: "For the child: when you assessed them as able to consent, YYYY-MM-DD.") var capacityAssessedOn:
        String?

    /// The consent given, or `nil` if none was.
    func request() throws -> Contactpoint_V1_RecordConsentRequest? {
        guard let consentGivenBy else { return nil }
        let giver: Contactpoint_V1_ConsentGiver = try enumValue(consentGivenBy, "--consent-given-by")
        return .with {
            $0.giver = giver
            if parentGiven != nil || parentFamily != nil {
                $0.giverName = .with {
                    $0.given = parentGiven ?? ""
                    $0.family = parentFamily ?? ""
                }
            }
            $0.capacityAssessedOn = capacityAssessedOn ?? ""
            $0.givenOn = consentGivenOn ?? ""
        }
    }
}

/// Text rendering of consents for the terminal.
enum ConsentText {
    static func render(_ record: Contactpoint_V1_ConsentRecord) -> String {
        let scope = record.scope.map(\.name).joined(separator: ", ")
        var lines = [
            """
            [\(record.consentID)] \(record.kind.name) for \(scope)  (child \(record.childID))  \
            \(record.status.name.uppercased())
            """
        ]
        if record.kind == .consent {
            let giver =
                record.giver == .parent
                ? "a parent, \(record.giverName.given) \(record.giverName.family)"
                : "the child (capacity assessed \(record.capacityAssessedOn))"
            lines.append("  given by \(giver) on \(record.givenOn)")
        } else {
            lines.append("  justification: \(record.justification.name)")
            lines.append(
                record.parentTold
                    ? "  the parent has been told"
                    : "  the parent has not been told: \(record.parentNotToldReason.name)")
        }
        if !record.expiresOn.isEmpty { lines.append("  last day \(record.expiresOn)") }
        lines.append(
            """
              recorded by \(record.recordedBy) (\(record.recordedByOrganisation)) at \
            \(formatTime(record.recordedAtMs))
            """
        )
        if record.withdrawnAtMs != 0 {
            lines.append("  withdrawn by \(record.withdrawnBy) at \(formatTime(record.withdrawnAtMs))")
        }
        return lines.joined(separator: "\n")
    }
}
