import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import SecurityPrimitives
import Testing
import Timekeeping

@testable import Identity

/// The identity RPCs as they are served (authentication interceptor included), over the
/// in-process transport.
struct IdentityRPCHarness {
    let fixture: IdentityFixture

    /// Runs `body` with clients of both identity services; `token` is sent as the session.
    func withClients<T: Sendable>(
        _ body:
            @Sendable (
                Contactpoint_V1_Identity.Client<InProcessTransport.Client>,
                Contactpoint_V1_IdentityAdmin.Client<InProcessTransport.Client>
            )
            async throws -> T
    ) async throws -> T {
        let transport = InProcessTransport()
        let verifier = fixture.verifier()
        let server = GRPCServer(
            transport: transport.server,
            services: [
                IdentityRPCService(authenticator: fixture.authenticator),
                IdentityAdminRPCService(authenticator: fixture.authenticator),
            ],
            interceptors: [
                AuthenticationInterceptor(verifier: verifier, publicMethods: IdentityRPCService.publicMethods)
            ])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            return try await withGRPCClient(transport: transport.client) { client in
                try await body(
                    Contactpoint_V1_Identity.Client(wrapping: client),
                    Contactpoint_V1_IdentityAdmin.Client(wrapping: client))
            }
        }
    }
}

func bearer(_ session: IssuedSession) -> Metadata { ["authorization": "Bearer \(session.token)"] }

@Suite("Account administration", .timeLimit(.minutes(2)))
struct AdministrationTests {
    @Test("a system administrator creates an organisation and an account; the practitioner enrols and logs in")
    func createAndEnrol() async throws {
        let fixture = try await IdentityFixture.make(roles: [.systemAdministrator])
        let admin = try await fixture.login()
        try await IdentityRPCHarness(fixture: fixture).withClients { identity, administration in
            let organisation = try await administration.createOrganisation(
                .with {
                    $0.type = "gp-practice"
                    $0.name = "Riverside Surgery"
                    $0.localAuthority = "E08000025"
                }, metadata: bearer(admin))
            // The same organisation again is refused, naming the one there is; another authority's is not
            let again = await #expect(throws: RPCError.self) {
                try await administration.createOrganisation(
                    .with {
                        $0.type = "gp-practice"
                        $0.name = "riverside surgery"
                        $0.localAuthority = "E08000025"
                    }, metadata: bearer(admin))
            }
            #expect(again?.code == .alreadyExists && again?.message.contains(organisation.organisationID) == true)
            _ = try await administration.createOrganisation(
                .with {
                    $0.type = "gp-practice"
                    $0.name = "Riverside Surgery"
                    $0.localAuthority = "E08000035"
                }, metadata: bearer(admin))
            let today = CalendarDay(inEngland: Instant(seconds: fixture.clock.upcoming)).description
            let created = try await administration.createPractitioner(
                .with {
                    $0.organisationID = organisation.organisationID
                    $0.name = "Dr Asha Patel"
                    $0.email = "asha.patel@riverside.example"
                    $0.jobRole = "GP"
                    $0.vetting = .with {
                        $0.criminalRecordsCheckedOn = today
                        $0.criminalRecordsReference = "009876543210"
                        $0.trainingCompletedOn = today
                        $0.userAgreementAcceptedOn = today
                    }
                }, metadata: bearer(admin))
            #expect(created.account.status == "inactive")
            #expect(created.account.roles == ["practitioner"])

            let begun = try await identity.beginEnrolment(
                .with {
                    $0.email = "asha.patel@riverside.example"
                    $0.enrolmentCode = created.enrolmentCode
                    $0.password = "tea and biscuits at four"
                })
            let secret = try #require(
                begun.otpauthUri.firstMatch(of: /secret=([A-Z2-7]+)/).flatMap { Base32.decode(String($0.1)) })
            let otp = OneTimePassword(secret: secret)
            _ = try await identity.completeEnrolment(
                .with {
                    $0.email = "asha.patel@riverside.example"
                    $0.enrolmentCode = created.enrolmentCode
                    $0.totpCode = otp.code(at: fixture.clock.upcoming)
                })
            fixture.clock.advance(by: 30)
            let grant = try await identity.login(
                .with {
                    $0.email = "asha.patel@riverside.example"
                    $0.password = "tea and biscuits at four"
                    $0.totpCode = otp.code(at: fixture.clock.upcoming)
                })
            let me = try await identity.whoAmI(.init(), metadata: ["authorization": "Bearer \(grant.token)"])
            #expect(me.organisationName == "Riverside Surgery")
            #expect(me.localAuthority == "E08000025")

            // The enrolment code is spent
            await #expect(throws: RPCError.self) {
                try await identity.beginEnrolment(
                    .with {
                        $0.email = "asha.patel@riverside.example"
                        $0.enrolmentCode = created.enrolmentCode
                        $0.password = "another long passphrase"
                    })
            }
        }
    }

    @Test(
        """
        deny by default: no session, a practitioner, and a local-authority administrator outside their authority \
        are refused
        """
    )
    func denyByDefault() async throws {
        let fixture = try await IdentityFixture.make(roles: [.localAuthorityAdministrator])
        let laAdmin = try await fixture.login()
        try await IdentityRPCHarness(fixture: fixture).withClients { _, administration in
            let noSession = await #expect(throws: RPCError.self) { try await administration.listPractitioners(.init()) }
            #expect(noSession?.code == .unauthenticated)

            // Another authority's organisation
            let elsewhere = await #expect(throws: RPCError.self) {
                try await administration.createOrganisation(
                    .with {
                        $0.type = "police"
                        $0.name = "Elsewhere Police"
                        $0.localAuthority = "E06000001"
                    }, metadata: bearer(laAdmin))
            }
            #expect(elsewhere?.code == .permissionDenied)

            // Their own authority, but a role only system administrators grant
            let grant = await #expect(throws: RPCError.self) {
                try await administration.createPractitioner(
                    .with {
                        $0.organisationID = "org-1"
                        $0.name = "Someone"
                        $0.email = "someone@hillside.example"
                        $0.jobRole = "Teacher"
                        $0.roles = ["system-administrator"]
                    }, metadata: bearer(laAdmin))
            }
            #expect(grant?.code == .permissionDenied)

            let badField = await #expect(throws: RPCError.self) {
                try await administration.createPractitioner(
                    .with {
                        $0.organisationID = "org-1"
                        $0.name = "Someone"
                        $0.email = "not an email"
                        $0.jobRole = "Teacher"
                    }, metadata: bearer(laAdmin))
            }
            #expect(badField?.code == .invalidArgument)
            #expect(badField?.message.hasPrefix("email:") == true)

            // A vetting check dated after today has not happened: it cannot count as current
            let tomorrow = CalendarDay(inEngland: Instant(seconds: fixture.clock.upcoming + 86_400)).description
            let future = await #expect(throws: RPCError.self) {
                try await administration.createPractitioner(
                    .with {
                        $0.organisationID = "org-1"
                        $0.name = "Someone"
                        $0.email = "someone@hillside.example"
                        $0.jobRole = "Teacher"
                        $0.vetting = .with {
                            $0.criminalRecordsCheckedOn = tomorrow
                            $0.criminalRecordsReference = "001234567890"
                        }
                    }, metadata: bearer(laAdmin))
            }
            #expect(future?.code == .invalidArgument)
            #expect(
                future?.message.hasPrefix("vetting.criminal_records_checked_on: expected a date not after today")
                    == true, "\(future?.message ?? "")")
            let notAPostcode = await #expect(throws: RPCError.self) {
                try await administration.createPractitioner(
                    .with {
                        $0.organisationID = "org-1"
                        $0.name = "Someone"
                        $0.email = "someone@hillside.example"
                        $0.jobRole = "Teacher"
                        $0.vetting = .with { $0.homePostcode = "not a postcode" }
                    }, metadata: bearer(laAdmin))
            }
            #expect(notAPostcode?.code == .invalidArgument)
            #expect(notAPostcode?.message == "vetting.home_postcode: expected a UK postcode")
        }

        let plain = try await IdentityFixture.make(roles: [.practitioner])
        let practitioner = try await plain.login()
        try await IdentityRPCHarness(fixture: plain).withClients { _, administration in
            let refused = await #expect(throws: RPCError.self) {
                try await administration.listPractitioners(.init(), metadata: bearer(practitioner))
            }
            #expect(refused?.code == .permissionDenied)
        }
    }

    @Test(
        """
        every refusal to an authenticated caller is in the audit trail: a practitioner at an administrator's call, \
        and an administrator at an account of another authority (answered as if it did not exist); an account that \
        does not exist is no refusal
        """
    )
    func refusalsAudited() async throws {
        func refusals(_ fixture: IdentityFixture) async throws -> [Contactpoint_V1_AuditEvent] {
            try await fixture.store.outboxes.undeliveredAuditEvents(limit: 1_000).map(\.event).filter {
                $0.action == "identity/administration-refused"
            }
        }
        let plain = try await IdentityFixture.make(roles: [.practitioner])
        let practitioner = try await plain.login()
        try await IdentityRPCHarness(fixture: plain).withClients { _, administration in
            await #expect(throws: RPCError.self) {
                try await administration.listPractitioners(.init(), metadata: bearer(practitioner))
            }
        }
        let refused = try #require(try await refusals(plain).first)
        #expect(refused.outcome == .denied && refused.outcomeReason == "not-authorized")
        #expect(refused.actor.practitionerID == "p-1" && refused.actor.organisationID == "org-1")

        let fixture = try await IdentityFixture.make(roles: [.localAuthorityAdministrator])
        let laAdmin = try await fixture.login()
        let elsewhere = Organisation(
            id: "org-elsewhere", type: .police, name: "Elsewhere Police", localAuthority: "E06000001", isActive: true)
        try await fixture.store.createOrganisation(elsewhere, now: fixture.clock.now)
        var other = fixture.practitioner
        other.id = "p-elsewhere"
        other.organisationID = elsewhere.id
        other.email = "someone@elsewhere.example"
        try await fixture.store.createPractitioner(
            other, enrolmentCodeHash: "unused", enrolmentExpiresAt: fixture.clock.now, now: fixture.clock.now)
        try await IdentityRPCHarness(fixture: fixture).withClients { _, administration in
            for id in ["p-elsewhere", "p-nobody"] {
                let error = await #expect(throws: RPCError.self) {
                    try await administration.unlock(.with { $0.practitionerID = id }, metadata: bearer(laAdmin))
                }
                #expect(error?.code == .notFound && error?.message == "no account \(id) that you administer")
            }
        }
        let outOfReach = try await refusals(fixture)
        #expect(outOfReach.map(\.subjectID) == ["p-elsewhere"])
        #expect(outOfReach.first?.outcomeReason == "not-administered")
    }

    @Test("suspension by an administrator revokes the session at another service within one refresh")
    func suspensionReachesOtherServices() async throws {
        let fixture = try await IdentityFixture.make(roles: [.systemAdministrator])
        let admin = try await fixture.login()
        // A practitioner with a live session
        let today = CalendarDay(inEngland: Instant(seconds: fixture.clock.upcoming))
        let other = Practitioner(
            id: "p-2", organisationID: "org-1", name: "Jo Lee", email: "jo.lee@hillside.example", jobRole: "Teacher",
            roles: [.practitioner], status: .inactive,
            vetting: Vetting(
                criminalRecordsCheckedOn: today, criminalRecordsReference: "1", trainingCompletedOn: today,
                userAgreementAcceptedOn: today),
            isLocked: false)
        try await fixture.store.createPractitioner(
            other, enrolmentCodeHash: "x", enrolmentExpiresAt: fixture.clock.upcoming + 60, now: fixture.clock.upcoming)
        let secret = SecureRandom.bytes(20)
        try await fixture.store.storePendingCredentials(
            practitionerID: "p-2", passwordHash: fixture.authenticator.passwords.hash("jo's own long passphrase"),
            sealedTOTPSecret: try fixture.authenticator.secrets.seal(secret, context: Array("p-2".utf8)))
        try await fixture.store.activate(practitionerID: "p-2", firstStep: 0, now: fixture.clock.upcoming)
        let jo = try await fixture.authenticator.login(
            email: "jo.lee@hillside.example", password: "jo's own long passphrase",
            code: OneTimePassword(secret: secret).code(at: fixture.clock.upcoming))

        try await IdentityRPCHarness(fixture: fixture).withClients { identity, administration in
            // Another service's verifier, kept current from the identity service
            let elsewhere = SessionVerifier(
                clock: WallClock { [clock = fixture.clock] in Instant(seconds: clock.upcoming) })
            let refresher = SessionTrustRefresher(
                identity: identity, verifier: elsewhere, logger: Logger(label: "test"))
            var since = try await refresher.refresh(since: 0)
            _ = try elsewhere.verify(jo.token)

            // When an administrator suspends Jo
            let suspended = try await administration.setAccountStatus(
                .with {
                    $0.practitionerID = "p-2"
                    $0.status = "suspended"
                }, metadata: bearer(admin))
            #expect(suspended.status == "suspended")

            // Then after the other service's next refresh, Jo's token is refused there
            since = try await refresher.refresh(since: since)
            #expect(throws: SessionVerifier.Failure.revoked) { try elsewhere.verify(jo.token) }
            // and the identity service refuses to refresh it
            await #expect(throws: RPCError.self) { try await identity.refresh(.init(), metadata: bearer(jo)) }

            // A suspended account cannot be suspended again; it can be reactivated
            let again = await #expect(throws: RPCError.self) {
                try await administration.setAccountStatus(
                    .with {
                        $0.practitionerID = "p-2"
                        $0.status = "suspended"
                    }, metadata: bearer(admin))
            }
            #expect(again?.code == .failedPrecondition)
            let reactivated = try await administration.setAccountStatus(
                .with {
                    $0.practitionerID = "p-2"
                    $0.status = "active"
                }, metadata: bearer(admin))
            #expect(reactivated.status == "active")
        }
    }
}

@Suite("Credentials over their lifetime", .timeLimit(.minutes(1)))
struct CredentialLifecycleTests {
    @Test("a practitioner changes their password with the current one and a code; other sessions end")
    func changePassword() async throws {
        let fixture = try await IdentityFixture.make()
        let first = try await fixture.login()
        fixture.clock.advance(by: 30)
        let second = try await fixture.login()
        fixture.clock.advance(by: 30)
        try await IdentityRPCHarness(fixture: fixture).withClients { identity, _ in
            let wrong = await #expect(throws: RPCError.self) {
                try await identity.changePassword(
                    .with {
                        $0.currentPassword = "not my password at all"
                        $0.newPassword = "a brand new passphrase"
                        $0.totpCode = fixture.code()
                    }, metadata: bearer(second))
            }
            #expect(wrong?.code == .unauthenticated)
            fixture.clock.advance(by: 30)
            let weak = await #expect(throws: RPCError.self) {
                try await identity.changePassword(
                    .with {
                        $0.currentPassword = fixture.password
                        $0.newPassword = "short"
                        $0.totpCode = fixture.code()
                    }, metadata: bearer(second))
            }
            #expect(weak?.code == .invalidArgument)
            fixture.clock.advance(by: 30)
            _ = try await identity.changePassword(
                .with {
                    $0.currentPassword = fixture.password
                    $0.newPassword = "a brand new passphrase"
                    $0.totpCode = fixture.code()
                }, metadata: bearer(second))
        }
        // The other session has ended; the new password works, the old does not
        let ended = try await fixture.store.endedSessions(since: 0).map(\.sessionID)
        #expect(ended == [first.claims.sid])
        fixture.clock.advance(by: 30)
        await #expect(throws: AuthenticationFailure.self) { try await fixture.login() }
        fixture.clock.advance(by: 120)
        _ = try await fixture.login(password: "a brand new passphrase")
    }

    @Test("a practitioner sees their live sessions and ends the others with a fresh code")
    func ownSessions() async throws {
        let fixture = try await IdentityFixture.make()
        let other = try await fixture.login()
        fixture.clock.advance(by: 30)
        let mine = try await fixture.login()
        fixture.clock.advance(by: 30)
        try await IdentityRPCHarness(fixture: fixture).withClients { identity, _ in
            let listed = try await identity.listSessions(.init(), metadata: bearer(mine))
            #expect(Set(listed.sessions.map(\.sessionID)) == [other.claims.sid, mine.claims.sid])
            #expect(listed.sessions.first { $0.current }?.sessionID == mine.claims.sid)

            let noCode = await #expect(throws: RPCError.self) {
                try await identity.endSessions(
                    .with {
                        $0.allOthers = true
                        $0.totpCode = "000000"
                    }, metadata: bearer(mine))
            }
            #expect(noCode?.code == .unauthenticated)
            let ended = try await identity.endSessions(
                .with {
                    $0.allOthers = true
                    $0.totpCode = fixture.code()
                }, metadata: bearer(mine))
            #expect(ended.ended == 1)
            let after = try await identity.listSessions(.init(), metadata: bearer(mine))
            #expect(after.sessions.map(\.sessionID) == [mine.claims.sid])
        }
    }

    @Test("deactivating an organisation ends its practitioners' sessions and refuses their logins")
    func deactivateOrganisation() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        // An administrator of another organisation
        try await fixture.store.createOrganisation(
            Organisation(
                id: "org-admin", type: .childrensServices, name: "Children's Services", localAuthority: "E09000033",
                isActive: true),
            now: fixture.clock.upcoming)
        let adminKey = fixture.keys
        let adminClaims = SessionClaims(
            sub: "p-admin", sid: "s-admin", org: "org-admin", la: "E09000033", roles: ["la-administrator"],
            iat: fixture.clock.upcoming,
            exp: fixture.clock.upcoming + 600, stepUpAt: fixture.clock.upcoming)
        let adminToken = try CompactJWS.sign(
            payload: Array(try JSONEncoder().encode(adminClaims)), keyID: adminKey.currentID, with: adminKey.current)
        try await IdentityRPCHarness(fixture: fixture).withClients { _, administration in
            let updated = try await administration.setOrganisationStatus(
                .with {
                    $0.organisationID = "org-1"
                    $0.active = false
                }, metadata: ["authorization": "Bearer \(adminToken)"])
            #expect(!updated.active)
        }
        #expect(try await fixture.store.endedSessions(since: 0).map(\.sessionID) == [session.claims.sid])
        fixture.clock.advance(by: 30)
        await #expect(throws: AuthenticationFailure.notPermitted(reason: "the organisation is not active")) {
            try await fixture.login()
        }
    }

    @Test("an administrator unlocks a locked account and resets a lost authenticator")
    func unlockAndReset() async throws {
        let fixture = try await IdentityFixture.make(roles: [.systemAdministrator])
        let admin = try await fixture.login()
        // A second practitioner, locked out
        try await fixture.store.createPractitioner(
            Practitioner(
                id: "p-2", organisationID: "org-1", name: "Jo Lee", email: "jo.lee@hillside.example",
                jobRole: "Teacher", roles: [.practitioner],
                status: .inactive, vetting: fixture.practitioner.vetting, isLocked: false),
            enrolmentCodeHash: "x", enrolmentExpiresAt: fixture.clock.upcoming + 60, now: fixture.clock.upcoming)
        for _ in 0..<3 {
            _ = try await fixture.store.recordFailedLogin(
                practitionerID: "p-2", reason: "wrong password", now: fixture.clock.upcoming, lockAfter: 3,
                delay: { _ in 0 })
        }
        #expect(try await fixture.store.practitioner(id: "p-2")?.isLocked == true)
        try await IdentityRPCHarness(fixture: fixture).withClients { identity, administration in
            let unlocked = try await administration.unlock(.with { $0.practitionerID = "p-2" }, metadata: bearer(admin))
            #expect(!unlocked.locked)
            let reset = try await administration.resetTwoFactor(
                .with { $0.practitionerID = "p-2" }, metadata: bearer(admin))
            #expect(reset.account.status == "inactive")
            #expect(reset.enrolmentCode.count == 24)
            // The new code starts enrolment
            _ = try await identity.beginEnrolment(
                .with {
                    $0.email = "jo.lee@hillside.example"
                    $0.enrolmentCode = reset.enrolmentCode
                    $0.password = "jo chooses a new passphrase"
                })
            // Administrators do not administer themselves
            let own = await #expect(throws: RPCError.self) {
                try await administration.resetTwoFactor(.with { $0.practitionerID = "p-1" }, metadata: bearer(admin))
            }
            #expect(own?.code == .permissionDenied)
        }
    }
}
