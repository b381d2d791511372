import ContactPointAPI
import Foundation
import GRDB
import Testing
import Timekeeping

@testable import Identity

@Suite("What practitioners are told about their account", .timeLimit(.minutes(2)))
struct SecurityNoticeTests {
    @Test("a login tells when the previous session started and how many attempts failed since")
    func signInHistory() async throws {
        let fixture = try await IdentityFixture.make()
        func seen(_ history: IdentityStore.SignInHistory?) -> (Int64?, Int)? {
            history.map { ($0.previousSessionStartedAt, $0.failedAttempts) }
        }
        let first = try await fixture.login()
        #expect(seen(first.history)! == (nil, 0))
        fixture.clock.advance(by: 60)
        for _ in 0..<2 { _ = try? await fixture.login(password: "not the passphrase at all") }
        fixture.clock.advance(by: 60)
        let second = try await fixture.login()
        #expect(seen(second.history)! == (first.claims.iat, 2))
        fixture.clock.advance(by: 60)
        let third = try await fixture.login()
        #expect(seen(third.history)! == (second.claims.iat, 0))
    }

    @Test(
        """
        a login names the practitioner's notices not yet delivered, its own among them, so that the unread count it \
        shows is whole; delivered, they are no longer named
        """
    )
    func noticesOnTheirWay() async throws {
        let fixture = try await IdentityFixture.make()
        for _ in 0..<3 { _ = try? await fixture.login(password: "not the passphrase at all") }
        fixture.clock.advance(by: 60)
        let session = try await fixture.login()
        let waiting = try await fixture.store.outboxes.undeliveredChanges(
            limit: 100, as: Contactpoint_V1_SecurityNotice.self)
        let own = try #require(waiting.last { $0.event.kind == .signedInAfterFailures })
        #expect(session.history?.noticesOnTheirWay == waiting.map(\.event.eventID))
        #expect(session.history?.noticesOnTheirWay.contains(own.event.eventID) == true)

        try await fixture.store.outboxes.markChangesDelivered(through: try #require(waiting.last).sequence)
        fixture.clock.advance(by: 60)
        #expect(try await fixture.login().history?.noticesOnTheirWay == [])
    }

    @Test("a login three months after the previous session is a notice; a login the next day is not")
    func longAbsence() async throws {
        let fixture = try await IdentityFixture.make()
        _ = try await fixture.login()
        fixture.clock.advance(by: 91 * 86_400)
        _ = try await fixture.login()
        fixture.clock.advance(by: 86_400)
        _ = try await fixture.login()
        let notices = try await fixture.store.outboxes.undeliveredChanges(
            limit: 100, as: Contactpoint_V1_SecurityNotice.self
        ).map(\.event)
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

        let waiting = try await fixture.store.outboxes.undeliveredChanges(
            limit: 100, as: Contactpoint_V1_SecurityNotice.self)
        let notices = waiting.map(\.event)
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
        let audited = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100)
        #expect(audited.count > notices.count, "every event is audited; only some are notices")
        #expect(Set(notices.map(\.eventID)).isSubset(of: audited.map(\.event.eventID)), "a notice is its event's")

        try await fixture.store.outboxes.markChangesDelivered(through: waiting.last!.sequence)
        #expect(
            try await fixture.store.outboxes.undeliveredChanges(limit: 100, as: Contactpoint_V1_SecurityNotice.self)
                .isEmpty)
    }

    @Test(
        """
        a database the previous version made upgrades to the shared outboxes: what was not yet delivered to the audit \
        trail or told as a notice moves across, in order; the old table goes
        """
    )
    func upgradeMovesTheOutbox() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("identity-upgrade-\(UUID()).sqlite")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try IdentityStore.migrator.migrate(queue, upTo: "3: security notices delivered to the notification service")
        // Rows as the previous version wrote them: topic, JSON payload, seconds, two cursors.
        try await queue.write { db in
            let rows: [(String, String, String, Int64, Int64?, Int64?)] = [
                ("e1", "identity/password-changed", #"{"at":1800000000,"subject":"p-1"}"#, 1_800_000_000, nil, nil),
                (
                    "e2", "identity/account-locked", #"{"at":1800000001,"reason":"too many","subject":"p-1"}"#,
                    1_800_000_001, 1_800_000_005, nil
                ),
                (
                    "e3", "identity/login-failed", #"{"at":1800000002,"reason":"unknown account"}"#, 1_800_000_002, nil,
                    1_800_000_009
                ),
                (
                    "e4", "identity/vetting-recorded", #"{"actor":"admin-1","at":1800000003,"subject":"p-1"}"#,
                    1_800_000_003, 1_800_000_005, 1_800_000_005
                ),
            ]
            for (id, topic, payload, createdAt, delivered, noticed) in rows {
                try db.execute(
                    sql: """
                        INSERT INTO outbox (event_id, topic, payload, created_at, delivered_at, noticed_at) \
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [id, topic, Data(payload.utf8), createdAt, delivered, noticed])
            }
        }
        try queue.close()

        let store = try IdentityStore.open(path: path)
        let audited = try await store.outboxes.undeliveredAuditEvents(limit: 10).map(\.event)
        #expect(audited.map(\.eventID) == ["e1", "e3"])
        #expect(audited.map(\.action) == ["identity/password-changed", "identity/login-failed"])
        #expect(audited[0].occurredAtMs == 1_800_000_000_000 && audited[0].subjectID == "p-1")
        #expect(audited[1].outcome == .denied && audited[1].outcomeReason == "unknown-account")
        let notices = try await store.outboxes.undeliveredChanges(limit: 10, as: Contactpoint_V1_SecurityNotice.self)
            .map(\.event)
        #expect(notices.map(\.eventID) == ["e1", "e2"])
        #expect(notices.map(\.kind) == [.passwordChanged, .accountLocked])
        let oldTable = try await store.writer.read { db in try db.tableExists("outbox") }
        #expect(!oldTable)
        try await store.writer.write { db in
            try IdentityStore.appendEvent(db, .accountUnlocked, subject: "p-1", actor: "admin-1", now: 1_800_000_100)
        }
        #expect(
            try await store.outboxes.undeliveredChanges(limit: 10, as: Contactpoint_V1_SecurityNotice.self).map(
                \.event.kind
            ).last == .accountUnlocked)
    }

    @Test("an administrator's changes name the administrator; an unknown account's failures are nobody's notice")
    func actors() {
        let unlocked = IdentityEvent(action: .accountUnlocked, subject: "p-1", actor: "admin-1", at: 10).notice
        #expect(
            unlocked?.kind == .accountUnlocked && unlocked?.actorID == "admin-1" && unlocked?.occurredAtMs == 10_000)
        #expect(IdentityEvent(action: .loginFailed, reason: "wrong code", at: 10).notice == nil)
        #expect(IdentityEvent(action: .vettingRecorded, subject: "p-1", at: 10).notice == nil)
        let wrongCode = IdentityEvent(action: .loginFailed, subject: "p-1", reason: "wrong code", at: 10)
        #expect(wrongCode.notice?.kind == .passwordRightCodeWrong)
        #expect(wrongCode.auditEvent.outcome == .denied && wrongCode.auditEvent.category == .authentication)
    }

    @Test(
        """
        a practitioner whose criminal-records check lapses within 30 days is told, and so is each administrator of \
        their authority, once; on the day it lapses, again; another authority's administrator never
        """
    )
    func vettingLapses() async throws {
        // Given Sam, whose check lapses in 20 days, an administrator of Sam's authority and one of another
        let clock = TestClock()
        let today = CalendarDay(inEngland: Instant(seconds: clock.upcoming))
        let fixture = try await IdentityFixture.make(
            clock: clock,
            vetting: Vetting(
                criminalRecordsCheckedOn: today.adding(days: 20).adding(years: -Vetting.checkValidYears),
                criminalRecordsReference: "001234567890", trainingCompletedOn: today, userAgreementAcceptedOn: today))
        try await fixture.store.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO organisation (id, type, name, local_authority) VALUES \
                    ('org-la', 'childrens-services', 'Borough', 'E09000033'), \
                    ('org-far', 'childrens-services', 'Far Borough', 'E08000025');
                    INSERT INTO practitioner (id, organisation_id, name, email, job_role, status, password_hash, \
                    totp_secret) VALUES \
                    ('p-admin', 'org-la', 'Priya', 'priya@la.example', 'Admin', 'active', 'x', x'00'), \
                    ('p-far', 'org-far', 'Far', 'far@far.example', 'Admin', 'active', 'x', x'00');
                    INSERT INTO practitioner_role (practitioner_id, role) VALUES \
                    ('p-admin', 'la-administrator'), ('p-far', 'la-administrator');
                    """)
        }
        func told() async throws -> [Contactpoint_V1_SecurityNotice] {
            try await fixture.store.outboxes.undeliveredChanges(limit: 100, as: Contactpoint_V1_SecurityNotice.self)
                .map(\.event).filter { $0.kind == .vettingLapsesSoon || $0.kind == .vettingLapsed }
        }

        // When the watch looks, twice
        #expect(try await fixture.store.tellLapsingVetting(today: today, now: clock.now) == 1)
        #expect(try await fixture.store.tellLapsingVetting(today: today, now: clock.now) == 0)

        // Then Sam and Sam's administrator are told once, with the days left; the far administrator is not
        let soon = try await told()
        #expect(soon.map(\.practitionerID).sorted() == ["p-1", "p-admin"])
        #expect(soon.allSatisfy { $0.kind == .vettingLapsesSoon && $0.count == 20 })
        #expect(soon.first { $0.practitionerID == "p-admin" }?.aboutPractitionerID == "p-1")
        #expect(Set(soon.map(\.eventID)).count == 2)

        // And on the day it lapses, both are told again that it has
        let lapseDay = today.adding(days: 20)
        #expect(try await fixture.store.tellLapsingVetting(today: lapseDay.adding(days: -1), now: clock.now) == 0)
        #expect(try await fixture.store.tellLapsingVetting(today: lapseDay, now: clock.now) == 1)
        let lapsed = try await told().filter { $0.kind == .vettingLapsed }
        #expect(lapsed.map(\.practitionerID).sorted() == ["p-1", "p-admin"])
        let audited = try await fixture.store.outboxes.undeliveredAuditEvents(limit: 100).map(\.event.action)
        #expect(
            audited.filter { $0.hasPrefix("identity/vetting-lapse") } == [
                "identity/vetting-lapses-soon", "identity/vetting-lapsed",
            ])
    }

    @Test("a database of the previous version gains the record of vetting notices told, and its accounts are watched")
    func upgradeWatchesVetting() async throws {
        // Given a database of the previous version with an active account whose check lapsed
        let path = try Self.previousVersion(upTo: "4: the shared outbox design", checkedOn: "2020-01-10")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // When this version opens it and looks
        let store = try IdentityStore.open(path: path)
        let told = try await store.tellLapsingVetting(today: CalendarDay("2026-12-03")!, now: 1_800_000_000)
        // Then the lapse is told once
        #expect(told == 1)
        let notices = try await store.outboxes.undeliveredChanges(limit: 10, as: Contactpoint_V1_SecurityNotice.self)
        #expect(notices.map(\.event.kind) == [.vettingLapsed])
    }

    @Test(
        """
        a database of the previous version gains the home postcode of vetting: its accounts have none until their \
        vetting is recorded again with one
        """
    )
    func upgradeKeepsHomePostcode() async throws {
        // Given a database of the previous version with an account
        let path = try Self.previousVersion(upTo: "5: vetting notices told", checkedOn: "2026-01-10")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // When this version opens it, the account has no home postcode; recorded again, it has
        let store = try IdentityStore.open(path: path)
        var vetting = try #require(try await store.practitioner(id: "p-1")).vetting
        #expect(vetting.homePostcode == nil && vetting.criminalRecordsReference == "r")
        vetting.homePostcode = "SW1A 1AA"
        try await store.recordVetting(practitionerID: "p-1", vetting: vetting, now: 1_800_000_000)
        #expect(try await store.practitioner(id: "p-1")?.vetting.homePostcode == "SW1A 1AA")
    }

    /// A database file migrated up to `migration` (a version before this one), with one active,
    /// enrolled account, p-1, whose criminal-records check is dated `checkedOn`.
    static func previousVersion(upTo migration: String, checkedOn: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID()).sqlite").path
        let queue = try DatabaseQueue(path: path)
        try IdentityStore.migrator.migrate(queue, upTo: migration)
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO organisation (id, type, name, local_authority) VALUES \
                    ('org-1', 'educational-setting', 'Hillside', 'E09000033');
                    INSERT INTO practitioner (id, organisation_id, name, email, job_role, status, password_hash, \
                    totp_secret, crb_checked_on, crb_reference) VALUES \
                    ('p-1', 'org-1', 'Sam', 'sam@hillside.example', 'Teacher', 'active', 'x', x'00', ?, 'r');
                    """, arguments: [checkedOn])
        }
        try queue.close()
        return path
    }
}
