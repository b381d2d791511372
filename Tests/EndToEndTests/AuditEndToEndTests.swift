import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import SecurityPrimitives
import Supervisor
import TestSupport
import Testing
import ZeroMQ

/// The audit service in a real stack: identity's events arrive through its outbox, the rules
/// raise items, an auditor reviews from the command line, a suspension reaches identity, and
/// `contactpoint audit verify` checks the real database.
@Suite("Audit end to end", .timeLimit(.minutes(3)))
struct AuditEndToEndTests {
    @Test(
        """
        identity's login failures reach the trail, raise an item, and the auditor's suspension reaches identity; \
        verify passes
        """
    )
    func reviewAndSuspend() async throws {
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_RULE_DENIED_ATTEMPTS": "3"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let people = try await stack.enrolAuditorAndPractitioner()

        // Three wrong passwords for the practitioner: identity refuses, its outbox tells the audit trail
        try await stack.withIdentityClient { identity in
            for _ in 0..<3 {
                await #expect(throws: RPCError.self) {
                    try await identity.login(
                        .with {
                            $0.email = people.practitionerEmail
                            $0.password = "not my passphrase at all"
                            $0.totpCode = "000000"
                        })
                }
            }
        }

        let config = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: config) }
        let cli = { (arguments: [String], input: String?) in
            try RunningProcess(
                "contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0],
                environment: ["XDG_CONFIG_HOME": config], input: input)
        }
        /// Waits until a signed tree head covers every event (the signer runs every second).
        func signedThroughTheEnd() async throws {
            try await eventually("a signed tree head covering every event", every: .milliseconds(250)) {
                let verify = try cli(["audit", "verify"], nil)
                _ = await verify.exited()
                return !verify.text.contains("no signature covers them yet")
            }
        }
        let login = try cli(
            ["login", "--email", people.auditorEmail],
            "\(people.auditorPassword)\n\(people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970)))\n")
        #expect(await login.exited() == 0, "\(login.text)")

        // The repeated-denials item appears in the queue (delivery is asynchronous: wait for it)
        let item = try await eventually(
            "a repeated-denials item for \(people.practitionerID)", every: .milliseconds(250)
        ) {
            let list = try cli(["audit", "review", "list"], nil)
            #expect(await list.exited() == 0, "\(list.text)")
            return list.text.split(separator: "\n").first {
                $0.contains("repeated-denials") && $0.contains(people.practitionerID)
            }
        }
        // Its events are refusals, and the list says so
        #expect(item.contains("(all refused)"), "\(item)")
        let itemID = String(item.split(separator: " ")[0])
        let open = try cli(["audit", "review", "open", itemID], nil)
        #expect(await open.exited() == 0)
        #expect(open.text.contains("identity/login-failed"), "\(open.text)")

        let close = try cli(["audit", "review", "close", itemID, "--outcome", "account-suspended"], nil)
        #expect(await close.exited() == 0, "\(close.text)")
        #expect(close.text.contains("account-suspended"))
        // The practitioner's session is gone: the identity service suspended the account
        let refused = await #expect(throws: RPCError.self) {
            try await stack.withIdentityClient { identity in
                try await identity.whoAmI(.init(), metadata: ["authorization": "Bearer \(people.practitionerToken)"])
            }
        }
        #expect(refused?.code == .unauthenticated)

        // The suspension itself reaches the trail (by the auditor, about the practitioner)
        let suspension = try await eventually("the suspension in the trail", every: .milliseconds(250)) {
            let events = try cli(["audit", "events", "--limit", "50"], nil)
            #expect(await events.exited() == 0)
            return events.text.split(separator: "\n").first { $0.contains("identity/account-suspended") }
        }
        #expect(suspension.contains("subject=\(people.practitionerID)"), "\(suspension)")

        // A disclosure of a child's record, as the index sends it, appears in the subject-access report
        var sender = try stack.operatorClientConfig()
        sender.keyPair = try KeyFile.readKeyPair(at: stack.directory.keyFile(principal: "identity"))
        _ = try await withGRPCClient(transport: try BusClientTransport(config: sender)) { client in
            try await Contactpoint_V1_Audit.Client(wrapping: client).append(
                .with { $0.events = [burstEvent(sender: 1)] })
        }
        let report = try cli(["audit", "subject-access", "9434765919"], nil)
        #expect(await report.exited() == 0, "\(report.text)")
        #expect(report.text.contains("reason: safeguarding-enquiry"), "\(report.text)")
        let json = try cli(["audit", "subject-access", "9434765919", "--json"], nil)
        #expect(await json.exited() == 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any]
        #expect((parsed?["entries"] as? [Any])?.count == 1, "\(json.text)")
        let badChild = try cli(["audit", "subject-access", "1234567890"], nil)
        #expect(await badChild.exited() != 0)
        #expect(badChild.text.contains("CHILD-ID: expected a ContactPoint ID"), "\(badChild.text)")

        // A tree head covers everything once the signer has run (every second)
        try await signedThroughTheEnd()
        let verify = try cli(["audit", "verify"], nil)
        #expect(await verify.exited() == 0, "\(verify.text)")
        #expect(verify.text.contains("intact"))

        // Someone elsewhere holds checkpoints: each monitor run proves the live log extends them
        let held = "\(config)/held-checkpoints"
        let publicKey = "\(stack.directory.dataDirectory(service: "audit"))/checkpoints/audit-signing-key.pub"
        let first = try cli(["audit", "monitor", "--checkpoints", held, "--public-key", publicKey], nil)
        #expect(await first.exited() == 0, "\(first.text)")
        _ = try await withGRPCClient(transport: try BusClientTransport(config: sender)) { client in
            try await Contactpoint_V1_Audit.Client(wrapping: client).append(
                .with { $0.events = [burstEvent(sender: 2)] })
        }
        try await signedThroughTheEnd()
        let second = try cli(["audit", "monitor", "--checkpoints", held, "--public-key", publicKey], nil)
        #expect(await second.exited() == 0, "\(second.text)")
        #expect(second.text.contains("consistent"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: held).filter { $0.hasSuffix(".checkpoint") }.count == 2)

        // Exported and held checkpoints are C2SP signed notes: a verifier written from the
        // specifications alone (examples/python) accepts every one with the exported verifier key
        let exported = "\(stack.directory.dataDirectory(service: "audit"))/checkpoints"
        let notes = try [exported, held].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".checkpoint") }.map {
                "\(folder)/\($0)"
            }
        }
        let verifier = OtherLanguageClientTests.repositoryRoot.appendingPathComponent(
            "examples/python/verify_checkpoint.py"
        ).path
        let selfTest = try RunningProcess("/usr/bin/python3", [verifier, "--self-test"], name: "note verifier")
        #expect(await selfTest.exited() == 0, "the verifier accepts the published example: \(selfTest.text)")
        let verified = try RunningProcess("/usr/bin/python3", [verifier, publicKey] + notes, name: "note verifier")
        #expect(await verified.exited() == 0, "\(verified.text)")
        #expect(verified.text.components(separatedBy: ": size ").count == notes.count + 1, "\(verified.text)")
        // and refuses one whose size was altered
        let altered = "\(config)/altered.checkpoint"
        let original = try String(contentsOfFile: notes[0], encoding: .utf8).components(separatedBy: "\n")
        try ([original[0], "\(UInt64(original[1])! + 1)"] + original.dropFirst(2)).joined(separator: "\n").write(
            toFile: altered, atomically: true, encoding: .utf8)
        let alteredCheck = try RunningProcess(
            "/usr/bin/python3", [verifier, publicKey, altered], name: "note verifier")
        #expect(await alteredCheck.exited() == 1, "\(alteredCheck.text)")
        #expect(alteredCheck.text.contains("the signature does not verify"), "\(alteredCheck.text)")
    }

    @Test("kill -9 of the audit service during a burst of appends loses no acknowledged event")
    func killDuringBurst() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        // The test appends as a sender service would: with the identity service's own key.
        var config = try stack.operatorClientConfig()
        config.keyPair = try KeyFile.readKeyPair(at: stack.directory.keyFile(principal: "identity"))
        let auditPID = try stack.pid(of: "audit-1")
        let acknowledged = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            let audit = Contactpoint_V1_Audit.Client(wrapping: client)
            return try await stack.burst(callers: 8, killing: "audit-1") { sender in
                let events = (0..<10).map { _ in burstEvent(sender: sender) }
                let reply = try await audit.append(.with { $0.events = events })
                #expect(reply.receipts.map(\.eventID) == events.map(\.eventID))
                return events.map(\.eventID)
            }
        }
        #expect(!acknowledged.isEmpty, "some of the burst was acknowledged, so the check below can fail")

        // `up` restarts it; every acknowledged event is in the log: sent again, each is a duplicate
        try await stack.waitForStatus("audit restarted") { report in
            report.isHealthy && report.processes.contains { $0.name == "audit-1" && $0.pid != auditPID }
        }
        config.retryUnavailable(services: [Contactpoint_V1_Audit.descriptor.fullyQualifiedService])
        let duplicates = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            let audit = Contactpoint_V1_Audit.Client(wrapping: client)
            var duplicates = 0
            for chunk in stride(from: 0, to: acknowledged.count, by: 500) {
                let ids = acknowledged[chunk..<min(chunk + 500, acknowledged.count)]
                let events = ids.map { id in burstEvent(sender: 0, id: id) }
                let reply = try await audit.append(.with { $0.events = events })
                duplicates += reply.receipts.filter(\.duplicate).count
            }
            return duplicates
        }
        #expect(duplicates == acknowledged.count)
        let verify = try RunningProcess(
            "contactpoint", ["audit", "verify", "--data-dir", stack.directory.root], name: "verify")
        #expect(await verify.exited() == 0, "\(verify.text)")
    }
}

/// An access event as the index will send it.
private func burstEvent(sender: Int, id: String = UUID().uuidString.lowercased()) -> Contactpoint_V1_AuditEvent {
    .with {
        $0.eventID = id
        $0.occurredAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        $0.action = "index/view-record"
        $0.category = .disclosure
        $0.actor.practitionerID = "p-burst-\(sender)"
        $0.service = "index"
        $0.childIds = ["9434765919"]
        $0.reasonCode = "safeguarding-enquiry"
        $0.outcome = .permitted
    }
}

extension LocalStack {
    struct AuditPeople: Sendable {
        var auditorEmail = "ada@contactpoint.example"
        var auditorPassword = "ada reviews the trail daily"
        var auditorOTP: OneTimePassword
        var practitionerEmail = "sam@hillside.example"
        var practitionerID: String
        var practitionerToken: String
        var practitionerPassword = "sam's own long passphrase"
        /// Sam's authenticator: its step at the time of ``practitionerToken``'s login is used.
        var practitionerOTP = OneTimePassword(secret: [])
        /// The bootstrapped system administrator's session.
        var administratorToken = ""
        /// The others asked for, by email: logged in.
        var others: [String: (id: String, token: String)] = [:]
        /// The others asked for who sign in themselves later, by email: their current TOTP step unused.
        var notSignedIn: [String: (id: String, organisationID: String, otp: OneTimePassword, password: String)] = [:]
    }

    /// Someone else to enrol and log in: of the practitioner's school unless another organisation is named.
    struct OtherPerson: Sendable {
        var name: String
        var email: String
        var roles: [String] = []
        /// (type, name) of their organisation, created in the same local authority.
        var organisation: (type: String, name: String)? = nil
        /// Enrolled only: the test signs them in (``AuditPeople/notSignedIn``).
        var signsInLater = false
    }

    /// The bootstrapped administrator enrols and creates an auditor and a practitioner (and
    /// `others`), who all enrol; the practitioner and the others log in. The auditor's current
    /// TOTP step is left unused.
    func enrolAuditorAndPractitioner(others: [OtherPerson] = []) async throws -> AuditPeople {
        let adminCode = try bootstrapEnrolmentCode()
        let now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
        return try await withIdentityClients { identity, administration in
            let adminOTP = try await enrol(
                identity, email: StackService.bootstrapAdministrator, code: adminCode, password: "quiet harbour at dawn"
            )
            let admin = try await identity.login(
                .with {
                    $0.email = StackService.bootstrapAdministrator
                    $0.password = "quiet harbour at dawn"
                    $0.totpCode = adminOTP.code(at: now())
                }
            ).token
            let session: Metadata = ["authorization": "Bearer \(admin)"]
            let organisation = try await administration.createOrganisation(
                .with {
                    $0.type = "educational-setting"
                    $0.name = "Hillside Primary"
                    $0.localAuthority = "E09000033"
                }, metadata: session)
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let vetting = Contactpoint_V1_Vetting.with {
                $0.criminalRecordsCheckedOn = today
                $0.criminalRecordsReference = "001234567890"
                $0.trainingCompletedOn = today
                $0.userAgreementAcceptedOn = today
            }
            /// Creates a vetted account in the organisation and enrols it.
            func enrolled(
                _ name: String, email: String, jobRole: String, roles: [String], password: String,
                organisationID: String? = nil
            ) async throws -> (id: String, otp: OneTimePassword) {
                let created = try await administration.createPractitioner(
                    .with {
                        $0.organisationID = organisationID ?? organisation.organisationID
                        $0.name = name
                        $0.email = email
                        $0.jobRole = jobRole
                        $0.roles = roles
                        $0.vetting = vetting
                    }, metadata: session)
                return (
                    created.account.practitionerID,
                    try await enrol(identity, email: email, code: created.enrolmentCode, password: password)
                )
            }
            var people = AuditPeople(auditorOTP: OneTimePassword(secret: []), practitionerID: "", practitionerToken: "")
            people.auditorOTP = try await enrolled(
                "Ada Reviewer", email: people.auditorEmail, jobRole: "Auditor", roles: ["auditor"],
                password: people.auditorPassword
            ).otp
            let (samID, samOTP) = try await enrolled(
                "Sam Carter", email: people.practitionerEmail, jobRole: "Deputy head", roles: [],
                password: "sam's own long passphrase")
            people.practitionerID = samID
            people.practitionerOTP = samOTP
            people.administratorToken = admin
            people.practitionerToken = try await identity.login(
                .with {
                    $0.email = people.practitionerEmail
                    $0.password = "sam's own long passphrase"
                    $0.totpCode = samOTP.code(at: now())
                }
            ).token
            for other in others {
                var organisationID: String?
                if let (type, name) = other.organisation {
                    organisationID = try await administration.createOrganisation(
                        .with {
                            $0.type = type
                            $0.name = name
                            $0.localAuthority = "E09000033"
                        }, metadata: session
                    ).organisationID
                }
                let password = "tidal meadow lantern quartz"
                let (id, otp) = try await enrolled(
                    other.name, email: other.email, jobRole: "Practitioner", roles: other.roles, password: password,
                    organisationID: organisationID)
                if other.signsInLater {
                    people.notSignedIn[other.email] = (id, organisationID ?? organisation.organisationID, otp, password)
                    continue
                }
                let token = try await identity.login(
                    .with {
                        $0.email = other.email
                        $0.password = password
                        $0.totpCode = otp.code(at: now())
                    }
                ).token
                people.others[other.email] = (id, token)
            }
            return people
        }
    }
}
