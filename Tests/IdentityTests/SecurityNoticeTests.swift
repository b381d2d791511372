import ContactPointAPI
import Foundation
import GRDB
import Testing

@testable import Identity

@Suite("What practitioners are told about their account", .timeLimit(.minutes(2)))
struct SecurityNoticeTests {
    @Test("a login tells when the previous session started and how many attempts failed since")
    func signInHistory() async throws {
        let fixture = try await IdentityFixture.make()
        let first = try await fixture.login()
        #expect(first.history == IdentityStore.SignInHistory(previousSessionStartedAt: nil, failedAttempts: 0))
        fixture.clock.advance(by: 60)
        for _ in 0..<2 { _ = try? await fixture.login(password: "not the passphrase at all") }
        fixture.clock.advance(by: 60)
        let second = try await fixture.login()
        #expect(
            second.history == IdentityStore.SignInHistory(previousSessionStartedAt: first.claims.iat, failedAttempts: 2)
        )
        fixture.clock.advance(by: 60)
        let third = try await fixture.login()
        #expect(
            third.history == IdentityStore.SignInHistory(previousSessionStartedAt: second.claims.iat, failedAttempts: 0)
        )
    }

    @Test("a login three months after the previous session is a notice; a login the next day is not")
    func longAbsence() async throws {
        let fixture = try await IdentityFixture.make()
        _ = try await fixture.login()
        fixture.clock.advance(by: 91 * 86_400)
        _ = try await fixture.login()
        fixture.clock.advance(by: 86_400)
        _ = try await fixture.login()
        let notices = try await fixture.store.unnoticedEvents(limit: 100).compactMap(\.event)
        #expect(notices.map(\.kind) == [.accountActive, .signedInAfterLongAbsence])
        #expect(notices.last?.count == 91)
    }

    @Test(
        """
        attempts that show someone has the password or a code, and changes to the credentials, become notices; a \
        mistyped password does not
        """
    )
    func notices() async throws {
        let fixture = try await IdentityFixture.make()
        _ = try? await fixture.login(password: "not the passphrase at all")
        _ = try? await fixture.login(code: "000000")
        fixture.clock.advance(by: 60)
        let code = fixture.code()
        let session = try await fixture.login(code: code)
        _ = try? await fixture.login(code: code)
        fixture.clock.advance(by: 60)
        for _ in 0..<3 { _ = try? await fixture.login(password: "not the passphrase at all") }
        fixture.clock.advance(by: 60)
        _ = try await fixture.login()
        fixture.clock.advance(by: 60)
        _ = try await fixture.authenticator.changePassword(
            session.claims, current: fixture.password, new: "another long enough passphrase", code: fixture.code())

        let events = try await fixture.store.unnoticedEvents(limit: 100)
        let notices = events.compactMap(\.event)
        #expect(
            notices.map(\.kind) == [
                .accountActive, .passwordRightCodeWrong, .codeReplayed, .signedInAfterFailures, .passwordChanged,
            ],
            "the first login after two failures is no notice; the one after three is")
        #expect(
            notices.allSatisfy {
                $0.practitionerID == fixture.practitioner.id && !$0.eventID.isEmpty && $0.occurredAtMs > 0
            })
        #expect(notices[3].count == 3)
        #expect(events.count > notices.count, "every event advances the cursor, notice or not")

        try await fixture.store.markNoticed(through: events.last!.sequence, now: fixture.clock.now)
        #expect(try await fixture.store.unnoticedEvents(limit: 100).isEmpty)
    }

    @Test("upgrading a database of events from before notices makes no notices of them; later events do")
    func upgradeStartsAfresh() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("identity-upgrade-\(UUID()).sqlite")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try IdentityStore.migrator.migrate(queue, upTo: "2: events published to the bus")
        try await queue.write { db in
            try IdentityStore.appendEvent(db, topic: "identity/password-changed", subject: "p-1", now: 1_800_000_000)
            try IdentityStore.appendEvent(db, topic: "identity/account-locked", subject: "p-1", now: 1_800_000_001)
        }
        try queue.close()
        let store = try IdentityStore.open(path: path)
        #expect(
            try await store.unnoticedEvents(limit: 10).isEmpty,
            "nobody is told today of what happened before the upgrade")
        try await store.writer.write { db in
            try IdentityStore.appendEvent(
                db, topic: "identity/account-unlocked", subject: "p-1", actor: "admin-1", now: 1_800_000_100)
        }
        #expect(try await store.unnoticedEvents(limit: 10).compactMap(\.event).map(\.kind) == [.accountUnlocked])
    }

    @Test("an administrator's changes name the administrator; an unknown account's failures are nobody's notice")
    func actors() {
        let payload = { (json: String) in OutboxPayload(Data(json.utf8)) }
        let unlocked = SecurityNotices.notice(
            eventID: "e1", topic: "identity/account-unlocked",
            payload: payload(#"{"subject":"p-1","actor":"admin-1"}"#), createdAt: 10)
        #expect(
            unlocked?.kind == .accountUnlocked && unlocked?.actorID == "admin-1" && unlocked?.occurredAtMs == 10_000)
        #expect(
            SecurityNotices.notice(
                eventID: "e2", topic: "identity/login-failed", payload: payload(#"{"reason":"wrong code"}"#),
                createdAt: 10) == nil)
        #expect(
            SecurityNotices.notice(
                eventID: "e3", topic: "identity/vetting-recorded", payload: payload(#"{"subject":"p-1"}"#),
                createdAt: 10) == nil)
        #expect(
            SecurityNotices.notice(
                eventID: "e4", topic: "identity/login-failed", payload: payload("not json"), createdAt: 10) == nil)
    }
}
