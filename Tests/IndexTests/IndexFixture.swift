import Authentication
import ConsentClient
import ContactPointAPI
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Identifiers
import RecordFields
import ServiceRuntime
import TestSupport
import Timekeeping

@testable import Index

/// An index service on a real SQLite file in a temporary directory, behind the session
/// interceptor, served over the in-process transport, with consent decisions the test sets.
final class IndexFixture: Sendable {
    private let temporaryDirectory: TemporaryDirectory
    var directory: String { temporaryDirectory.path }
    let store: IndexStore
    let sessions = SessionSigner()
    /// What consent allows: "<child id>/<service type code>".
    let consent = Locked<Set<String>>([])
    /// Makes every write of an access event fail.

    static let authority = "E09000033"
    /// The in-process transport's peer: the "bus principal" of every call in these tests.
    static let peer = "in-process:\(getpid())"
    static let otherAuthority = "E08000025"

    /// A new index, or one opened on a copy of the database file at `copying` (checkpointed).
    init(copying database: String? = nil) throws {
        temporaryDirectory = try TemporaryDirectory(prefix: "index")
        if let database {
            try FileManager.default.copyItem(atPath: database, toPath: "\(temporaryDirectory.path)/index.sqlite")
        }
        store = try IndexStore.open(path: "\(temporaryDirectory.path)/index.sqlite")
    }

    private struct Consent: ConsentDecisions {
        let allowed: Locked<Set<String>>
        func allowed(_ serviceTypes: Set<Contactpoint_V1_ServiceType>, childID: String) async throws -> Set<
            Contactpoint_V1_ServiceType
        > {
            let allowed = allowed.value
            return serviceTypes.filter { allowed.contains("\(childID)/\($0.code!)") }
        }
        /// Accepts a consent given by a parent or the child, as the consent service would.
        func recordConsent(_ request: Contactpoint_V1_RecordConsentRequest) async throws {
            guard request.giver != .unspecified else {
                throw RPCError(code: .invalidArgument, message: "consent.giver: parent or child")
            }
            self.allowed.update { $0.insert("\(request.childID)/\(request.scope[0].code!)") }
        }
    }

    /// Runs the service and its group commit for the duration of `body`, which gets a client.
    func run<T: Sendable>(_ body: @Sendable (Contactpoint_V1_Index.Client<InProcessTransport.Client>) async throws -> T)
        async throws -> T
    {
        var reader = try ConfigurationReader.settings(["standing-reader": Self.peer])
        let service = IndexServer.makeService(
            settings: try IndexServer.Settings(reading: &reader, flags: .init(database: nil)), store: store,
            trust: SessionTrust(verifier: sessions.verifier), consent: Consent(allowed: consent), clock: .system)
        return try await service.servedInProcess { client in
            try await body(Contactpoint_V1_Index.Client(wrapping: client))
        }
    }

    /// Makes every later write to the audit outbox fail in SQLite, as a full or failing disk would.
    func makeAuditOutboxFail() throws {
        try store.writer.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    CREATE TEMP TRIGGER audit_outbox_fails BEFORE INSERT ON main.audit_outbox
                    BEGIN SELECT RAISE(ABORT, 'the audit outbox cannot be written (test)'); END
                    """)
        }
    }

    /// Session metadata for a practitioner; `steppedUpSecondsAgo` sets when they last entered a code.
    func session(
        _ practitioner: String = "p-1", roles: [String] = ["practitioner"], org: String = "org-school",
        la: String = IndexFixture.authority,
        steppedUpSecondsAgo: Int64 = 0, name: String? = nil, homePostcode: String? = nil
    ) throws -> Metadata {
        try sessions.metadata(
            practitioner, name: name, homePostcode: homePostcode, org: org, la: la, roles: roles,
            stepUpAt: Int64(Date().timeIntervalSince1970) - steppedUpSecondsAgo)
    }

    var administrator: Metadata { get throws { try session("la-admin", roles: ["la-administrator"], org: "org-la") } }

    /// The audit events waiting in the outbox, oldest first.
    func auditOutbox() async throws -> [Contactpoint_V1_AuditEvent] {
        try await store.outboxes.undeliveredAuditEvents(limit: 10_000).map(\.event)
    }

    func changeOutbox() async throws -> [Contactpoint_V1_IndexChangeEvent] {
        try await store.outboxes.undeliveredChanges(limit: 10_000, as: Contactpoint_V1_IndexChangeEvent.self).map(
            \.event)
    }

    // MARK: Records

    static func child(
        _ given: String, _ family: String, born: String, postcode: String = "SW1A 1AA",
        la: String = IndexFixture.authority,
        gender: Contactpoint_V1_Gender = .female, configure: (inout Contactpoint_V1_ChildDetails) -> Void = { _ in }
    ) -> Contactpoint_V1_ChildEntry {
        var details = Contactpoint_V1_ChildDetails.with {
            $0.name = .with {
                $0.given = given
                $0.family = family
            }
            $0.dateOfBirth = born
            $0.gender = gender
            $0.address = .with {
                $0.lines = ["1 High Street"]
                $0.town = "London"
                $0.postcode = postcode
            }
            $0.localAuthority = la
            $0.carers = [
                .with {
                    $0.name = .with {
                        $0.given = "Jane"
                        $0.family = family
                    }
                    $0.relationship = .mother
                    $0.parentalResponsibility = true
                    $0.telephone = "020 7946 0000"
                }
            ]
        }
        configure(&details)
        return .with { $0.child = details }
    }

    static func involvement(
        _ type: Contactpoint_V1_ServiceType = .educationalSetting, org: String = "", name: String = "St Mary's School"
    ) -> Contactpoint_V1_InvolvementDetails {
        .with {
            $0.serviceType = type
            $0.organisationID = org
            $0.organisationName = name
            $0.contact = .with {
                $0.name = "Sam Teacher"
                $0.role = "Designated safeguarding lead"
                $0.telephone = "020 7946 0001"
                $0.secureEmail = "dsl@stmarys.example.sch.uk"
            }
        }
    }

    /// Puts children as the local-authority administrator; their ids in order.
    func put(_ entries: [Contactpoint_V1_ChildEntry], _ index: Contactpoint_V1_Index.Client<InProcessTransport.Client>)
        async throws -> [String]
    {
        try await index.putChildren(.with { $0.children = entries }, metadata: try administrator).childIds
    }

    static let reason = Contactpoint_V1_AccessReason.with { $0.code = .contactPractitioners }
    /// A valid ContactPoint ID that no test puts.
    static let unknownChild = ContactPointID(serial: 1)!.digits
}
