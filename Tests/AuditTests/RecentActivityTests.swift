import ContactPointAPI
import GRDB
import Testing

@testable import Audit

/// What the misuse rules count from memory: exact within the horizon, `nil` beyond it.
@Suite("Audit recent activity", .timeLimit(.minutes(1)))
struct RecentActivityTests {
    static let minute: Int64 = 60_000
    static let hour = 60 * minute

    @Test(
        """
        counts each practitioner's disclosures and denials after a time; forgets, once a minute, what is older \
        than the window
        """
    )
    func countsAndForgets() async throws {
        let fixture = try AuditFixture()
        let now = AuditFixture.mondayNoon
        let activity = try await fixture.store.writer.read { db in
            try RecentActivity.load(window: Self.hour, now: now, size: 0, db)
        }
        // Recorded out of order: a late event takes its place among the others.
        for (minutes, practitioner, outcome) in [
            (-50, "p-1", Contactpoint_V1_AuditOutcome.permitted), (-10, "p-1", .permitted), (-30, "p-1", .denied),
            (-10, "p-2", .permitted),
        ] {
            activity.record(
                fixture.view(by: practitioner, at: now + Int64(minutes) * Self.minute) { $0.outcome = outcome })
        }
        #expect(activity.nextLeaf == 4)
        #expect(activity.count(.disclosures, organisation: "org-1", practitioner: "p-1", after: now - Self.hour) == 3)
        #expect(
            activity.count(.disclosures, organisation: "org-1", practitioner: "p-1", after: now - 40 * Self.minute) == 2
        )
        #expect(activity.count(.denials, organisation: "org-1", practitioner: "p-1", after: now - Self.hour) == 1)
        #expect(activity.count(.disclosures, organisation: "org-2", practitioner: "p-1", after: now - Self.hour) == 0)
        // Before the horizon (the window and five minutes): not known.
        #expect(
            activity.count(.disclosures, organisation: "org-1", practitioner: "p-1", after: now - 66 * Self.minute)
                == nil)

        activity.prune(now: now + 30 * Self.minute)
        #expect(activity.horizon == now - 35 * Self.minute)
        #expect(
            activity.count(.disclosures, organisation: "org-1", practitioner: "p-1", after: now - 35 * Self.minute) == 2
        )
        #expect(
            activity.count(.denials, organisation: "org-1", practitioner: "p-1", after: now - 35 * Self.minute) == 1)
        #expect(activity.count(.disclosures, organisation: "org-1", practitioner: "p-1", after: now - Self.hour) == nil)
        // Not again within the minute.
        activity.prune(now: now + 30 * Self.minute + 59_000)
        #expect(activity.horizon == now - 35 * Self.minute)
    }
}
