import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Identifiers
import Logging
import SecurityPrimitives
import Synchronization
import TestSupport
import Timekeeping

@testable import Audit

/// An audit service on a real SQLite file in a temporary directory, behind the session
/// interceptor, served over the in-process transport; with a clock the test sets.
final class AuditFixture: Sendable {
    private let temporaryDirectory: TemporaryDirectory
    var directory: String { temporaryDirectory.path }
    let store: AuditStore
    let log: AuditLog
    let signer: TreeHeadSigner
    let signingKey = Ed25519.PrivateKey.generate()
    let verifier = SessionVerifier()
    private let now = Locked<Int64>(AuditFixture.mondayNoon)
    /// Practitioners whose suspension the service asked for; set `suspensionFails` to make it fail.
    let suspended = Locked<[String]>([])
    let suspensionFails = Locked(false)
    /// The children the "index" says are shielded; `nil`: the index cannot be asked.
    let shieldedChildren = Locked<Set<String>?>([])

    /// Monday 2 November 2026, 12:00 in London (GMT): inside working hours.
    static let mondayNoon: Int64 = 1_793_620_800_000
    /// The remote peer the in-process transport reports for its clients.
    static let sender = "in-process:\(getpid())"

    init(rules: MisuseRules = MisuseRules()) throws {
        temporaryDirectory = try TemporaryDirectory(prefix: "audit")
        store = try AuditStore.open(path: "\(temporaryDirectory.path)/audit.sqlite")
        let clock = WallClock { [now] in Instant(milliseconds: now.value) }
        log = AuditLog(store: store, rules: rules, clock: clock)
        signer = TreeHeadSigner(
            store: store, key: try TreeHeadKey.load(directory: "\(temporaryDirectory.path)/secrets"),
            checkpoints: CheckpointDirectory(path: "\(temporaryDirectory.path)/checkpoints"), interval: .seconds(3600),
            clock: clock,
            logger: Logger(label: "test"))
        try signer.checkpoints.prepare(publicKey: signer.key.privateKey.publicKey)
        verifier.trust(keys: ["k1": signingKey.publicKey])
    }

    func advance(by milliseconds: Int64) { now.update { $0 += milliseconds } }
    func set(clock milliseconds: Int64) { now.update { $0 = milliseconds } }
    var clock: Int64 { now.value }

    var service: AuditRPCService {
        AuditRPCService(
            log: log, senders: [Self.sender], instance: "audit-test", signingKey: signer.key.privateKey.publicKey,
            suspendAccount: { [suspended, suspensionFails] id in
                if suspensionFails.value { throw RPCError(code: .unavailable, message: "identity is down") }
                suspended.update { $0.append(id) }
            },
            childShielded: { [shieldedChildren] id in
                guard let shielded = shieldedChildren.value else {
                    throw RPCError(code: .unavailable, message: "the index is down")
                }
                return shielded.contains(id)
            })
    }

    /// Runs the service and its committer for the duration of `body`, which gets a client. Once
    /// per fixture: the log's committer runs once.
    func run<T: Sendable>(_ body: @Sendable (Contactpoint_V1_Audit.Client<InProcessTransport.Client>) async throws -> T)
        async throws -> T
    {
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server, services: [service],
            interceptors: [AuthenticationInterceptor(verifier: verifier, publicMethods: AuditRPCService.publicMethods)])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            group.addTask { await self.log.run() }
            defer {
                server.beginGracefulShutdown()
                group.cancelAll()
            }
            return try await withGRPCClient(transport: transport.client) { client in
                try await body(Contactpoint_V1_Audit.Client(wrapping: client))
            }
        }
    }

    /// Session metadata for a practitioner with these roles.
    func session(
        _ practitioner: String = "p-1", roles: [String] = ["practitioner"], la: String = "E09000033",
        org: String = "org-1"
    )
        throws -> Metadata
    {
        // Sessions are checked against the real clock, not the fixture's.
        let seconds = Int64(Date().timeIntervalSince1970)
        let claims = SessionClaims(
            sub: practitioner, sid: "s-\(practitioner)", org: org, la: la, roles: roles, iat: seconds,
            exp: seconds + 900, stepUpAt: seconds)
        let token = try CompactJWS.sign(payload: Array(try JSONEncoder().encode(claims)), keyID: "k1", with: signingKey)
        return ["authorization": "Bearer \(token)"]
    }

    var auditor: Metadata { get throws { try session("auditor-1", roles: ["auditor"], org: "org-audit") } }

    static func child(_ serial: Int) -> String {
        var serial = serial
        while ContactPointID(serial: serial) == nil { serial += 1 }
        return ContactPointID(serial: serial)!.digits
    }

    /// A permitted view of `child` by `practitioner`, at the fixture's clock unless given.
    func view(
        child: String = AuditFixture.child(123_456_780), by practitioner: String = "p-1", la: String = "E09000033",
        at time: Int64? = nil, configure: (inout Contactpoint_V1_AuditEvent) -> Void = { _ in }
    ) -> Contactpoint_V1_AuditEvent {
        var event = Contactpoint_V1_AuditEvent.with {
            $0.eventID = UUID().uuidString.lowercased()
            $0.occurredAtMs = time ?? clock
            $0.action = "index/view-record"
            $0.category = .disclosure
            $0.actor = .with {
                $0.practitionerID = practitioner
                $0.organisationID = "org-1"
                $0.localAuthority = la
                $0.roles = ["practitioner"]
                $0.sessionHash = SHA256.hash(Array("s-\(practitioner)".utf8)).hexString
            }
            $0.service = "index"
            $0.instance = "index-1"
            $0.childIds = [child]
            $0.disclosedFields = ["name", "date_of_birth", "address"]
            $0.reasonCode = "safeguarding-enquiry"
            $0.outcome = .permitted
            $0.access = .with {
                $0.childLocalAuthority = la
                $0.callerOrganisationInvolved = true
            }
        }
        configure(&event)
        return event
    }

    func eventCount() async throws -> Int {
        try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }
}

/// A value shared between a test and the code under test.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func update(_ change: (inout Value) -> Void) { mutex.withLock { change(&$0) } }
}
