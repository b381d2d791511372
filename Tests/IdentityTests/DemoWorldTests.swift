import DemoWorld
import SecurityPrimitives
import Testing
import Timekeeping

@testable import Identity

@Suite("Demo world")
struct DemoWorldTests {
    @Test(
        """
        the demo world's accounts are created once, enrolled, and log in with the printed password and a code \
        from the printed secret
        """
    )
    func demoAccounts() async throws {
        let fixture = try await IdentityFixture.make()
        let credentials = try #require(try await fixture.authenticator.createDemoWorld())
        #expect(credentials.map(\.email) == DemoWorld.practitioners.map(\.email))
        #expect(try await fixture.store.organisation(id: "demo-gp")?.localAuthority == DemoWorld.localAuthority)
        let jo = try #require(credentials.first { $0.email == "jo@socialcare.demo" })
        #expect(jo.roles == ["named-person", "practitioner"])
        let secret = try #require(Base32.decode(jo.totpSecret))
        let session = try await fixture.authenticator.login(
            email: jo.email, password: jo.password,
            code: OneTimePassword(secret: secret).code(at: fixture.clock.upcoming))
        #expect(session.claims.org == "demo-social-care" && session.claims.roles.contains("named-person"))
        // A second start leaves the world as it is and prints nothing.
        #expect(try await fixture.authenticator.createDemoWorld() == nil)
    }
}

@Suite("Demo world on a slow machine")
struct DemoWorldSlowTests {
    @Test(
        """
        every demo account is enrolled even when creating the world takes minutes (each clock reading five \
        seconds later)
        """
    )
    func slowCreation() async throws {
        let fixture = try await IdentityFixture.make(clock: TestClock(stride: 5))
        let credentials = try #require(try await fixture.authenticator.createDemoWorld())
        #expect(credentials.count == DemoWorld.practitioners.count)
        for credential in credentials {
            #expect(
                try await fixture.store.practitioner(
                    id: try #require(await fixture.store.loginRecord(email: credential.email)).practitioner.id)?.status
                    == .active)
        }
    }
}

@Suite("Demo world cut short")
struct DemoWorldInterruptedTests {
    @Test(
        """
        a start cut short after some accounts showed no credentials: the next start finishes the world and shows \
        working ones for all
        """
    )
    func finishedOnNextStart() async throws {
        // Given a world whose organisations and first account were made before the process died
        let fixture = try await IdentityFixture.make()
        let first = DemoWorld.practitioners[0]
        let today = CalendarDay(inEngland: Instant(seconds: fixture.clock.upcoming))
        let demo = fixture.store.acting(as: "demo-world")
        for organisation in DemoWorld.organisations {
            try await demo.createOrganisation(
                Organisation(
                    id: organisation.id, type: OrganisationType(rawValue: organisation.type)!, name: organisation.name,
                    localAuthority: DemoWorld.localAuthority, isActive: true),
                now: fixture.clock.now)
        }
        try await demo.createPractitioner(
            Practitioner(
                id: "p-cut-short", organisationID: first.organisationID, name: first.name, email: first.email,
                jobRole: first.jobRole,
                roles: [.practitioner], status: .inactive,
                vetting: Vetting(
                    criminalRecordsCheckedOn: today, criminalRecordsReference: "demo", trainingCompletedOn: today,
                    userAgreementAcceptedOn: today),
                isLocked: false),
            enrolmentCodeHash: "never shown", enrolmentExpiresAt: fixture.clock.now + 3600, now: fixture.clock.now)

        // When the service starts again
        let credentials = try #require(try await fixture.authenticator.createDemoWorld())

        // Then every account has credentials that log in, the first one's too
        #expect(credentials.map(\.email) == DemoWorld.practitioners.map(\.email))
        let again = try #require(credentials.first { $0.email == first.email })
        let secret = try #require(Base32.decode(again.totpSecret))
        let session = try await fixture.authenticator.login(
            email: again.email, password: again.password,
            code: OneTimePassword(secret: secret).code(at: fixture.clock.upcoming))
        #expect(session.claims.sub == "p-cut-short")
        #expect(try await fixture.authenticator.createDemoWorld() == nil)
    }
}
