import Authentication
import Foundation
import SecurityPrimitives
import Testing
import Timekeeping

@testable import Identity

@Suite("Session tokens", .timeLimit(.minutes(1)))
struct TokenTests {
    @Test("a token is refused once its idle expiry has passed")
    func expiry() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        let verifier = fixture.verifier()
        fixture.clock.advance(by: 15 * 60 - 1)
        _ = try verifier.verify(session.token)
        fixture.clock.advance(by: 1)
        #expect(throws: SessionVerifier.Failure.expired) { try verifier.verify(session.token) }
    }

    @Test("forged and altered tokens are refused")
    func forgery() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        let verifier = fixture.verifier()
        // Signed by a key the identity service never published, under its key id
        let forger = Ed25519.PrivateKey.generate()
        var claims = session.claims
        claims.roles = ["system-administrator"]
        let forged = try CompactJWS.sign(payload: Array(try JSONEncoder().encode(claims)), keyID: "k1", with: forger)
        #expect(throws: SessionVerifier.Failure.invalid("the signature does not verify")) {
            try verifier.verify(forged)
        }
        // The real token with its claims swapped
        let parts = session.token.split(separator: ".").map(String.init)
        let altered = parts[0] + "." + Base64URL.encode(Array(try JSONEncoder().encode(claims))) + "." + parts[2]
        #expect(throws: SessionVerifier.Failure.invalid("the signature does not verify")) {
            try verifier.verify(altered)
        }
        #expect(throws: SessionVerifier.Failure.self) { try verifier.verify("garbage") }
    }

    @Test("after key rotation, tokens signed with the old key stay valid while it is published")
    func rotation() async throws {
        let fixture = try await IdentityFixture.make()
        let old = try await fixture.login()
        let newKey = Ed25519.PrivateKey.generate()
        var rotatedKeys = fixture.keys
        rotatedKeys.currentID = "k2"
        rotatedKeys.current = newKey
        rotatedKeys.published["k2"] = newKey.publicKey
        let rotated = Authenticator(
            store: fixture.store, passwords: fixture.authenticator.passwords, secrets: fixture.authenticator.secrets,
            keys: rotatedKeys, clock: WallClock { [clock = fixture.clock] in Instant(seconds: clock.now) })
        fixture.clock.advance(by: 30)
        let new = try await rotated.login(
            email: fixture.practitioner.email, password: fixture.password, code: fixture.code())

        let verifier = SessionVerifier(clock: WallClock { [clock = fixture.clock] in Instant(seconds: clock.now) })
        verifier.trust(keys: rotatedKeys.published)
        _ = try verifier.verify(old.token)
        _ = try verifier.verify(new.token)
        #expect(
            new.token.split(separator: ".").first.flatMap { Base64URL.decode($0) }.map {
                String(decoding: $0, as: UTF8.self)
            }?
            .contains(#""kid":"k2""#) == true)
        // Once the old key is withdrawn, its tokens stop verifying
        verifier.trust(keys: ["k2": newKey.publicKey])
        #expect(throws: SessionVerifier.Failure.invalid("no trusted key has id k1")) { try verifier.verify(old.token) }
    }
}

@Suite("Session lifetime and step-up", .timeLimit(.minutes(1)))
struct SessionLifetimeTests {
    @Test("refreshing within the idle timeout keeps a session alive, but never past 12 hours")
    func absoluteTimeout() async throws {
        let fixture = try await IdentityFixture.make()
        var session = try await fixture.login()
        let started = session.claims.iat
        // Refresh every 14 minutes
        while fixture.clock.upcoming + 14 * 60 < started + 12 * 60 * 60 {
            fixture.clock.advance(by: 14 * 60)
            session = try await fixture.authenticator.refresh(session.claims)
            #expect(session.claims.exp <= started + 12 * 60 * 60)
        }
        fixture.clock.advance(by: 14 * 60)
        await #expect(throws: AuthenticationFailure.rejected(reason: "session ended")) {
            try await fixture.authenticator.refresh(session.claims)
        }
    }

    @Test("a session left idle for 15 minutes cannot be refreshed")
    func idleTimeout() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        fixture.clock.advance(by: 15 * 60)
        await #expect(throws: AuthenticationFailure.rejected(reason: "session ended")) {
            try await fixture.authenticator.refresh(session.claims)
        }
    }

    @Test("step-up with a fresh code moves the step-up time to now; the same code twice is refused")
    func stepUp() async throws {
        let fixture = try await IdentityFixture.make(roles: [.practitioner, .namedPerson])
        let session = try await fixture.login()
        fixture.clock.advance(by: 10 * 60)
        let caller = Caller(claims: session.claims, token: session.token)
        #expect(
            !caller.hasSteppedUp(at: Instant(seconds: fixture.clock.upcoming)),
            "more than 5 minutes since the last code")

        let code = fixture.code()
        let stepped = try await fixture.authenticator.refresh(session.claims, stepUpCode: code)
        #expect(stepped.claims.stepUpAt == fixture.clock.upcoming)
        #expect(
            Caller(claims: stepped.claims, token: stepped.token).hasSteppedUp(
                at: Instant(seconds: fixture.clock.upcoming)))
        // A code used already: the session's holder is told that it is the code (not "email, password or code")
        await #expect(throws: AuthenticationFailure.codeRefused) {
            try await fixture.authenticator.refresh(stepped.claims, stepUpCode: code)
        }
        #expect(AuthenticationFailure.codeRefused.publicMessage.hasPrefix("that code is not right or was used already"))
        let events = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event.action)
        #expect(events.contains("identity/step-up-succeeded"))
        #expect(events.contains("identity/step-up-failed"))
    }

    @Test("a logged-out session cannot be refreshed and its token is refused once verifiers learn of it")
    func logout() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        try await fixture.authenticator.logout(session.claims)
        await #expect(throws: AuthenticationFailure.self) { try await fixture.authenticator.refresh(session.claims) }
        let verifier = fixture.verifier()
        verifier.revoke(sessionIDs: try await fixture.store.endedSessions(since: 0).map(\.sessionID))
        #expect(throws: SessionVerifier.Failure.revoked) { try verifier.verify(session.token) }
    }

    @Test("an account has at most five live sessions: a sixth login ends the oldest, everywhere")
    func concurrentSessions() async throws {
        let fixture = try await IdentityFixture.make()
        var sessions: [IssuedSession] = []
        for _ in 0..<6 {
            fixture.clock.advance(by: 30)
            sessions.append(try await fixture.login())
        }
        let live = try await fixture.store.liveSessions(
            practitionerID: fixture.practitioner.id, now: fixture.clock.upcoming)
        #expect(live.map(\.id) == sessions.dropFirst().reversed().map(\.claims.sid))
        await #expect(throws: AuthenticationFailure.self) {
            try await fixture.authenticator.refresh(sessions[0].claims)
        }
        let verifier = fixture.verifier()
        verifier.revoke(sessionIDs: try await fixture.store.endedSessions(since: 0).map(\.sessionID))
        #expect(throws: SessionVerifier.Failure.revoked) { try verifier.verify(sessions[0].token) }
        _ = try verifier.verify(sessions[1].token)
        // A session already expired does not count: after the idle timeout, five new logins end nothing live.
        fixture.clock.advance(by: 16 * 60)
        for _ in 0..<5 {
            fixture.clock.advance(by: 30)
            _ = try await fixture.login()
        }
        #expect(try await fixture.store.endedSessions(since: 0).count == 1)
    }
}
