import DemoWorld
@testable import Identity
import SecurityPrimitives
import Testing

@Suite("Demo world")
struct DemoWorldTests {
    @Test("the demo world's accounts are created once, enrolled, and log in with the printed password and a code from the printed secret")
    func demoAccounts() async throws {
        let fixture = try await IdentityFixture.make()
        let credentials = try #require(try await fixture.authenticator.createDemoWorld())
        #expect(credentials.map(\.email) == DemoWorld.practitioners.map(\.email))
        #expect(try await fixture.store.organisation(id: "demo-gp")?.localAuthority == DemoWorld.localAuthority)
        let jo = try #require(credentials.first { $0.email == "jo@socialcare.demo" })
        #expect(jo.roles == ["named-person", "practitioner"])
        let secret = try #require(Base32.decode(jo.totpSecret))
        let session = try await fixture.authenticator.login(
            email: jo.email, password: jo.password, code: OneTimePassword(secret: secret).code(at: fixture.clock.upcoming))
        #expect(session.claims.org == "demo-social-care" && session.claims.roles.contains("named-person"))
        // A second start leaves the world as it is and prints nothing.
        #expect(try await fixture.authenticator.createDemoWorld() == nil)
    }
}

@Suite("Demo world on a slow machine")
struct DemoWorldSlowTests {
    @Test("every demo account is enrolled even when creating the world takes minutes (each clock reading five seconds later)")
    func slowCreation() async throws {
        let fixture = try await IdentityFixture.make(clock: TestClock(stride: 5))
        let credentials = try #require(try await fixture.authenticator.createDemoWorld())
        #expect(credentials.count == DemoWorld.practitioners.count)
        for credential in credentials {
            #expect(try await fixture.store.practitioner(id: try #require(await fixture.store.loginRecord(email: credential.email)).practitioner.id)?.status == .active)
        }
    }
}
