import Authentication
import ConsentClient
import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import GRPCInProcessTransport
import Identifiers
import Logging
import ServiceRuntime
import TestSupport
import Timekeeping

@testable import Notification

/// A notification service on an in-memory SQLite database (or, for tests of several instances, a
/// file in a temporary directory), behind the session
/// interceptor, served over the in-process transport; consent decisions and the clock are the test's.
final class NotificationFixture: Sendable {
    /// The database file's directory, for a fixture made `inFile`.
    let temporaryDirectory: TemporaryDirectory?
    let store: NotificationStore
    let sessions = SessionSigner()
    let hub = AlertHub(capacity: 4, pollInterval: .milliseconds(50))
    /// What consent allows: "<child id>/<service type code>"; `consentDown` makes every question fail.
    let consent = Locked<Set<String>>([])
    let consentDown = Locked(false)
    let now = Locked<Int64>(1_780_000_000_000)

    static let child = (2001...2020).lazy.compactMap { ContactPointID(serial: $0) }.first!.digits
    /// The in-process transport's peer: the "bus principal" of every call in these tests.
    static let peer = "in-process:\(getpid())"

    init(inFile: Bool = false) throws {
        if inFile {
            let directory = try TemporaryDirectory(prefix: "notification")
            temporaryDirectory = directory
            store = try NotificationStore.open(path: "\(directory.path)/notification.sqlite")
        } else {
            temporaryDirectory = nil
            store = try NotificationStore(DatabaseQueue())
        }
    }

    private struct Consent: ConsentDecisions {
        let allowed: Locked<Set<String>>
        let down: Locked<Bool>
        func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<
            Contactpoint_V1_ServiceType
        > {
            if down.value { throw RPCError(code: .unavailable, message: "consent is down") }
            let allowed = allowed.value
            return serviceTypes.filter { type in allowed.contains("\(childID)/\(type.rawValue)") }
        }
        func recordConsent(_ request: Contactpoint_V1_RecordConsentRequest) async throws {}
    }

    func allow(_ type: Contactpoint_V1_ServiceType, child: String = NotificationFixture.child) {
        consent.update { $0.insert("\(child)/\(type.rawValue)") }
    }

    var escalator: Escalator {
        let now = now
        return Escalator(
            store: store, hub: hub, after: .seconds(3600), interval: .seconds(60),
            clock: WallClock { Instant(milliseconds: now.value) },
            logger: Logger(label: "test"))
    }

    /// Runs the service for the duration of `body`. `feeders` may deliver changes, `noticeFeeders`
    /// notices; `gateways` maps principals to organisations.
    @discardableResult
    func run<T: Sendable>(
        feeders: Set<String> = [NotificationFixture.peer], noticeFeeders: Set<String> = [NotificationFixture.peer],
        gateways: [String: String] = [:],
        _ body: @Sendable (Contactpoint_V1_Notification.Client<InProcessTransport.Client>) async throws -> T
    ) async throws -> T {
        let now = now
        var reader = try ConfigurationReader.settings([
            "feeder": feeders.joined(separator: " "), "notice-feeder": noticeFeeders.joined(separator: " "),
            "gateway": gateways.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
        ])
        let service = NotificationServer.makeService(
            settings: try NotificationServer.Settings(reading: &reader, flags: .init(database: nil)), store: store,
            trust: SessionTrust(verifier: sessions.verifier), consent: Consent(allowed: consent, down: consentDown),
            hub: hub, clock: WallClock { Instant(milliseconds: now.value) }, logger: Logger(label: "test"))
        return try await service.servedInProcess { client in
            try await body(Contactpoint_V1_Notification.Client(wrapping: client))
        }
    }

    func session(
        _ practitioner: String, name: String? = nil, org: String, roles: [String] = ["practitioner"]
    ) throws -> Metadata {
        try sessions.metadata(practitioner, name: name, org: org, roles: roles)
    }

    func auditOutbox() async throws -> [Contactpoint_V1_AuditEvent] {
        try await store.outboxes.undeliveredAuditEvents(limit: 10_000).map(\.event)
    }

    // MARK: Events

    static func involvement(_ id: String, org: String, _ type: Contactpoint_V1_ServiceType = .educationalSetting)
        -> Contactpoint_V1_Involvement
    {
        .with {
            $0.involvementID = id
            $0.childID = child
            $0.serviceType = type
            $0.sensitive = [.camhs, .sexualHealth, .mentalHealth, .substanceMisuse].contains(type)
            $0.organisationID = org
            $0.organisationName = "Organisation \(org)"
            $0.contact = .with {
                $0.name = "Contact \(id)"
                $0.role = "Lead"
                $0.telephone = "020 7946 0000"
            }
            $0.startDate = "2026-01-01"
        }
    }

    /// An event of `change` by the involvement `from`, telling the `others` (involvement, its recorder).
    static func event(
        _ change: String = "indicator-raised", from: Contactpoint_V1_Involvement,
        others: [(Contactpoint_V1_Involvement, String)],
        shielded: Bool = false
    ) -> Contactpoint_V1_IndexChangeEvent {
        .with {
            $0.eventID = UUID().uuidString.lowercased()
            $0.occurredAtMs = 1
            $0.change = change
            $0.childID = child
            $0.involvementID = from.involvementID
            $0.organisationID = from.organisationID
            $0.serviceType = from.serviceType
            if change == "indicator-raised" { $0.indicator = .informationToShare }
            $0.practitionerID = "p-origin"
            $0.child = .with {
                $0.name = .with {
                    $0.given = "Amelia"
                    $0.family = "Smith"
                }
                $0.dateOfBirth = "2015-04-01"
                $0.shielded = shielded
                if !shielded { $0.postcode = "SW1A 1AA" }
            }
            $0.involvement = from
            $0.recipients = others.map { involvement, practitioner in
                .with {
                    $0.involvement = involvement
                    $0.practitionerID = practitioner
                }
            }
        }
    }

    static let school = involvement("1", org: "org-school")
    static let gp = involvement("2", org: "org-gp", .gpPractice)
    static let socialCare = involvement("3", org: "org-social-care", .socialCare)
    static let schoolNurse = involvement("4", org: "org-school", .schoolNurse)
    static let yot = involvement("5", org: "org-yot", .youthOffendingTeam)
}
