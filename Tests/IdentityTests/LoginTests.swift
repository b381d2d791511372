import Authentication
import Foundation
import SecurityPrimitives
import Testing
import Timekeeping

@testable import Identity

@Suite("Login with password and TOTP", .timeLimit(.minutes(2)))
struct LoginTests {
    @Test("the right email, password and code give a signed session token every service can verify")
    func success() async throws {
        let fixture = try await IdentityFixture.make(roles: [.practitioner, .namedPerson])
        let session = try await fixture.login()
        let claims = try fixture.verifier().verify(session.token)
        #expect(claims == session.claims)
        #expect(claims.sub == "p-1")
        #expect(claims.name == "Sam Carter", "named, for what others see of what they do")
        #expect(claims.org == "org-1")
        #expect(claims.la == "E09000033")
        #expect(claims.roles == ["named-person", "practitioner"])
        #expect(claims.exp == claims.iat + 15 * 60, "the idle timeout")
    }

    @Test(
        "a session carries the home postcode the practitioner's vetting gave, for the review of disclosures near home")
    func homePostcode() async throws {
        let today = CalendarDay(inEngland: Instant(seconds: TestClock().now))
        let fixture = try await IdentityFixture.make(
            vetting: Vetting(
                criminalRecordsCheckedOn: CalendarDay(year: today.year - 1, month: 1, day: 10)!,
                criminalRecordsReference: "001234567890", trainingCompletedOn: today, userAgreementAcceptedOn: today,
                homePostcode: "SW1A 1AA"))
        #expect(try await fixture.login().claims.homePostcode == "SW1A 1AA")
        #expect(try await IdentityFixture.make().login().claims.homePostcode == nil)
    }

    @Test("the email is matched without regard to case")
    func emailCase() async throws {
        let fixture = try await IdentityFixture.make()
        _ = try await fixture.login(email: "Sam.Carter@Hillside.Example")
    }

    @Test("unknown account, wrong password and wrong code get the same answer")
    func sameAnswer() async throws {
        let fixture = try await IdentityFixture.make()
        var failures: [AuthenticationFailure] = []
        for attempt: () async throws -> IssuedSession in [
            { try await fixture.login(email: "nobody@hillside.example") },
            { try await fixture.login(password: "the wrong passphrase") },
            { try await fixture.login(code: "000000") },
        ] {
            do {
                _ = try await attempt()
            } catch let failure as AuthenticationFailure {
                failures.append(failure)
            }
        }
        #expect(failures.count == 3)
        #expect(failures.allSatisfy { if case .rejected = $0 { true } else { false } })
        #expect(failures.map(\.publicMessage).allSatisfy { $0 == failures[0].publicMessage })
        // Each failure is in the audit outbox with its reason, and never the email or password tried.
        let failed = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event)
            .filter { $0.action == "identity/login-failed" }
        #expect(failed.map(\.outcomeReason) == ["unknown-account", "wrong-password", "wrong-code"])
        let recorded = try failed.map { String(decoding: try $0.serializedBytes() as [UInt8], as: UTF8.self) }
        #expect(!recorded.contains { $0.contains("nobody@hillside.example") || $0.contains("the wrong passphrase") })
    }

    @Test("a code once used is refused the second time")
    func replaySequential() async throws {
        let fixture = try await IdentityFixture.make()
        let code = fixture.code()
        _ = try await fixture.login(code: code)
        await #expect(throws: AuthenticationFailure.rejected(reason: "replayed code")) {
            try await fixture.login(code: code)
        }
    }

    @Test("ten concurrent logins with one code: exactly one wins")
    func replayConcurrent() async throws {
        let fixture = try await IdentityFixture.make()
        let code = fixture.code()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { (try? await fixture.login(code: code)) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
    }

    @Test("the previous step's code is accepted, an older one is not")
    func window() async throws {
        let fixture = try await IdentityFixture.make()
        let otp = OneTimePassword(secret: fixture.totpSecret)
        let now = fixture.clock.now
        _ = try await fixture.login(code: otp.code(counter: otp.timeStep(at: now) - 1))
        fixture.clock.advance(by: 60)
        let stale = otp.code(counter: otp.timeStep(at: fixture.clock.now) - 2)
        await #expect(throws: AuthenticationFailure.self) { try await fixture.login(code: stale) }
    }

    @Test("after a few failures the next attempt must wait; once the delay has passed it succeeds")
    func throttled() async throws {
        let fixture = try await IdentityFixture.make()
        for _ in 0..<5 { _ = try? await fixture.login(password: "the wrong passphrase") }
        await #expect(throws: AuthenticationFailure.rejected(reason: "throttled")) { try await fixture.login() }
        fixture.clock.advance(by: 2)
        _ = try await fixture.login()
    }

    @Test(
        """
        100 consecutive failures from 10 parallel clients lock the account; then even the right credentials are \
        refused
        """
    )
    func lockout() async throws {
        // Every reading of this clock is 61 s after the last: no attempt is throttled.
        let fixture = try await IdentityFixture.make(clock: TestClock(stride: 61))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { for _ in 0..<11 { _ = try? await fixture.login(password: "the wrong passphrase") } }
            }
        }
        let account = try #require(try await fixture.store.practitioner(id: "p-1"))
        #expect(account.isLocked)
        let record = try #require(try await fixture.store.loginRecord(email: fixture.practitioner.email))
        #expect(record.failedLogins == 100, "failures after the lock are not counted")
        await #expect(
            throws: AuthenticationFailure.notPermitted(
                reason: "the account is locked: ask your administrator to unlock it")
        ) {
            try await fixture.login()
        }
        let locks = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 1000).filter {
            $0.event.action == "identity/account-locked"
        }
        #expect(locks.count == 1)
    }
}

@Suite("Who may have a session", .timeLimit(.minutes(1)))
struct SessionEligibilityTests {
    static let today = CalendarDay(inEngland: Instant(seconds: 1_800_000_000))

    @Test(
        "lapsed or missing vetting means no session, even with the right credentials",
        arguments: [
            (
                Vetting(
                    criminalRecordsCheckedOn: CalendarDay(year: today.year - 3, month: today.month, day: today.day)!,
                    criminalRecordsReference: "1", trainingCompletedOn: today, userAgreementAcceptedOn: today),
                "the enhanced criminal-records check has lapsed"
            ),
            (
                Vetting(
                    criminalRecordsCheckedOn: today, criminalRecordsReference: "1", trainingCompletedOn: nil,
                    userAgreementAcceptedOn: today),
                "training has not been completed"
            ),
            (
                Vetting(
                    criminalRecordsCheckedOn: today, criminalRecordsReference: "1", trainingCompletedOn: today,
                    userAgreementAcceptedOn: nil),
                "the user agreement has not been accepted"
            ),
            (
                Vetting(
                    criminalRecordsCheckedOn: nil, criminalRecordsReference: nil, trainingCompletedOn: today,
                    userAgreementAcceptedOn: today),
                "no enhanced criminal-records check is recorded"
            ),
        ])
    func vetting(_ vetting: Vetting, _ reason: String) async throws {
        let fixture = try await IdentityFixture.make(vetting: vetting)
        await #expect(throws: AuthenticationFailure.notPermitted(reason: reason)) { try await fixture.login() }
    }

    @Test("a check is valid until the day before its third anniversary")
    func checkValidity() {
        let checked = CalendarDay(year: 2024, month: 2, day: 29)!
        let vetting = Vetting(
            criminalRecordsCheckedOn: checked, criminalRecordsReference: "1", trainingCompletedOn: checked,
            userAgreementAcceptedOn: checked)
        #expect(vetting.lapse(on: CalendarDay(year: 2027, month: 2, day: 27)!) == nil)
        #expect(
            vetting.lapse(on: CalendarDay(year: 2027, month: 2, day: 28)!)
                == "the enhanced criminal-records check has lapsed")
        #expect(CalendarDay(inEngland: Instant(seconds: 0)).description == "1970-01-01")
        #expect(CalendarDay(inEngland: Instant(seconds: 951_782_400)).description == "2000-02-29")
        #expect(CalendarDay("2023-02-29") == nil)
    }

    @Test("a suspended account gets no session, and suspension ends the sessions it had")
    func suspension() async throws {
        let fixture = try await IdentityFixture.make()
        let session = try await fixture.login()
        let verifier = fixture.verifier()
        #expect(throws: Never.self) { try verifier.verify(session.token) }

        try await fixture.store.setStatus(practitionerID: "p-1", to: .suspended, now: fixture.clock.now)
        let ended = try await fixture.store.endedSessions(since: 0)
        #expect(ended.map(\.sessionID) == [session.claims.sid])
        verifier.revoke(sessionIDs: ended.map(\.sessionID))
        #expect(throws: SessionVerifier.Failure.revoked) { try verifier.verify(session.token) }

        fixture.clock.advance(by: 30)
        await #expect(throws: AuthenticationFailure.notPermitted(reason: "the account is suspended")) {
            try await fixture.login()
        }
    }
}
