import Authentication
import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import GRPCInProcessTransport
import Identifiers
import ServiceRuntime
import TestSupport
import Timekeeping

@testable import Consent

/// A consent service on an in-memory SQLite database, behind the session
/// interceptor, served over the in-process transport; the index's answers and the clock are the
/// test's.
final class ConsentFixture: Sendable {
    let store: ConsentStore
    let sessions = SessionSigner()
    /// The children on the "index": id → (local authority, organisations involved).
    let children = Locked<[String: (localAuthority: String, involved: Set<String>)]>([:])
    /// The children whose records the "index" has shielded.
    let shielded = Locked<Set<String>>([])
    /// Unix milliseconds now, as the service sees it.
    let now = Locked<Int64>(ConsentFixture.milliseconds(of: "2026-11-26"))

    static let authority = "E09000033"
    /// The date of birth the index gives for every child.
    static let bornOn = "2015-04-01"
    static let child = ContactPointID(serial: 1001)!.digits
    static let otherChild = ContactPointID(serial: 1002)!.digits
    static let unknownChild = ContactPointID(serial: 9999)!.digits
    /// The in-process transport's peer: the "bus principal" of every call in these tests.
    static let peer = "in-process:\(getpid())"

    init() throws {
        store = try ConsentStore(DatabaseQueue())
        children.update {
            $0[Self.child] = (Self.authority, ["org-school"])
            $0[Self.otherChild] = ("E08000025", ["org-gp"])
        }
    }

    static func milliseconds(of day: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(formatter.date(from: "\(day)T12:00:00Z")!.timeIntervalSince1970 * 1000)
    }

    private struct Standings: ChildStandings {
        let children: Locked<[String: (localAuthority: String, involved: Set<String>)]>
        let shielded: Locked<Set<String>>
        func standing(ofChild childID: String, organisationID: String) async throws
            -> Contactpoint_V1_ChildStandingResponse?
        {
            guard let child = children.value[childID] else { return nil }
            return .with {
                $0.localAuthority = child.localAuthority
                $0.status = .active
                $0.organisationInvolved = child.involved.contains(organisationID)
                $0.dateOfBirth = ConsentFixture.bornOn
                $0.shielded = shielded.value.contains(childID)
            }
        }
    }

    /// Runs the service for the duration of `body`, which gets a client; `checkers` are the bus
    /// principals allowed to ask for decisions and to record consents with involvements.
    func run<T: Sendable>(
        checkers: Set<String> = [ConsentFixture.peer],
        _ body: @Sendable (Contactpoint_V1_Consent.Client<InProcessTransport.Client>) async throws -> T
    ) async throws -> T {
        let now = now
        var reader = try ConfigurationReader.settings([
            "checker": checkers.joined(separator: " "), "involvement-recorder": checkers.joined(separator: " "),
        ])
        let service = ConsentServer.makeService(
            settings: try ConsentServer.Settings(reading: &reader, flags: .init(database: nil)), store: store,
            trust: SessionTrust(verifier: sessions.verifier),
            standings: Standings(children: children, shielded: shielded),
            clock: WallClock { Instant(milliseconds: now.value) })
        return try await service.servedInProcess { client in
            try await body(Contactpoint_V1_Consent.Client(wrapping: client))
        }
    }

    /// Session metadata; `steppedUpSecondsAgo` sets when they last entered a code (on the fixture's clock).
    func session(
        _ practitioner: String = "p-school", roles: [String] = ["practitioner"], org: String = "org-school",
        la: String = ConsentFixture.authority,
        steppedUpSecondsAgo: Int64 = 3600
    ) throws -> Metadata {
        // Tokens are checked against the real clock, steps-up against the service's.
        try sessions.metadata(
            practitioner, org: org, la: la, roles: roles, stepUpAt: now.value / 1000 - steppedUpSecondsAgo)
    }

    var namedPerson: Metadata {
        get throws {
            try session(
                "p-named", roles: ["practitioner", "named-person"], org: "org-social-care", steppedUpSecondsAgo: 10)
        }
    }

    func auditOutbox() async throws -> [Contactpoint_V1_AuditEvent] {
        try await store.outboxes.undeliveredAuditEvents(limit: 10_000).map(\.event)
    }

    func changeOutbox() async throws -> [Contactpoint_V1_ConsentChangeEvent] {
        try await store.outboxes.undeliveredChanges(limit: 10_000, as: Contactpoint_V1_ConsentChangeEvent.self).map(
            \.event)
    }

    // MARK: Requests

    static func parentConsent(
        _ scope: [Contactpoint_V1_ServiceType] = [.sexualHealth], child: String = ConsentFixture.child,
        givenOn: String = "2026-11-20",
        expiresOn: String = ""
    ) -> Contactpoint_V1_RecordConsentRequest {
        .with {
            $0.childID = child
            $0.scope = scope
            $0.giver = .parent
            $0.giverName = .with {
                $0.given = "Jane"
                $0.family = "Smith"
            }
            $0.givenOn = givenOn
            $0.expiresOn = expiresOn
        }
    }

    static func override(_ scope: [Contactpoint_V1_ServiceType] = [.sexualHealth], child: String = ConsentFixture.child)
        -> Contactpoint_V1_RecordOverrideRequest
    {
        .with {
            $0.childID = child
            $0.scope = scope
            $0.justification = .askingWouldIncreaseRisk
            $0.parentTold = false
            $0.parentNotToldReason = .wouldIncreaseRisk
        }
    }

    static func check(_ types: [Contactpoint_V1_ServiceType], child: String = ConsentFixture.child)
        -> Contactpoint_V1_CheckConsentRequest
    {
        .with {
            $0.childID = child
            $0.serviceTypes = types
        }
    }

    static let reason = Contactpoint_V1_AccessReason.with { $0.code = .safeguardingConcern }
}
