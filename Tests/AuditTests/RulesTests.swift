import ContactPointAPI
import Foundation
import GRPCCore
import Testing
import Timekeeping

@testable import Audit

/// Each misuse rule against a scripted abuse, and a normal working day that raises nothing.
@Suite("Audit misuse rules", .timeLimit(.minutes(1)))
struct RulesTests {
    static let rules: MisuseRules = {
        var rules = MisuseRules()
        rules.disclosuresPerHour = 10
        rules.deniedAttempts = 3
        return rules
    }()

    static func items(_ fixture: AuditFixture) async throws -> [Contactpoint_V1_ReviewItem] {
        try await fixture.store.reviewItems(status: .unspecified, scope: nil, beforeRow: nil, limit: 100).map(\.item)
    }

    /// Appends events one call at a time, the clock at the latest of them (none is in the future).
    static func append(_ fixture: AuditFixture, _ events: [Contactpoint_V1_AuditEvent]) async throws {
        fixture.set(clock: events.map(\.occurredAtMs).max() ?? fixture.clock)
        try await fixture.run { audit in
            for event in events { _ = try await audit.append(.with { $0.events = [event] }) }
        }
    }

    @Test("a normal day — views in working hours, own authority, involved, no overrides — raises nothing")
    func quietOnNormalUse() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let day = (0..<40).map { i in
            fixture.view(
                child: AuditFixture.child(1000 + i), by: "p-\(i % 5)",
                at: AuditFixture.mondayNoon + Int64(i) * 600_000 / 4)
        }
        try await Self.append(fixture, day)
        #expect(try await Self.items(fixture).isEmpty)
    }

    @Test("more disclosures in an hour than allowed: one item holding every disclosure past the limit")
    func unusualVolume() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let burst = (0..<15).map { i in
            fixture.view(child: AuditFixture.child(2000 + i), at: AuditFixture.mondayNoon + Int64(i) * 60_000)
        }
        try await Self.append(fixture, burst)
        let items = try await Self.items(fixture)
        #expect(items.map(\.rule) == ["unusual-volume"])
        #expect(items.first?.eventCount == 5)
        #expect(items.first?.practitionerID == "p-1")
    }

    @Test(
        "every shield override and every consent override is a high-priority item of its own, listed apart on request")
    func overrides() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let ordinary = (0..<6).map { _ in fixture.view { $0.outcome = .denied } }
        try await Self.append(
            fixture,
            [
                fixture.view { $0.override = .shield }, fixture.view { $0.override = .shield },
                fixture.view { $0.override = .consent },
            ] + ordinary)
        let items = try await Self.items(fixture)
        #expect(
            items.map(\.rule).sorted() == [
                "consent-override", "repeated-denials", "shield-override", "shield-override",
            ])
        #expect(items.allSatisfy { $0.highPriority == $0.rule.hasSuffix("-override") })
        let first = try await fixture.store.reviewItems(
            status: .unspecified, highPriorityOnly: true, scope: nil, beforeRow: nil, limit: 100)
        #expect(first.map(\.item.rule).sorted() == ["consent-override", "shield-override", "shield-override"])
    }

    @Test("viewing a child of another authority with whom one's organisation has no involvement")
    func uninvolvedOtherAuthority() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        try await Self.append(
            fixture,
            [
                // Another authority but involved, and own authority uninvolved: both fine.
                fixture.view { $0.access.childLocalAuthority = "E08000025" },
                fixture.view { $0.access.callerOrganisationInvolved = false },
                fixture.view {
                    $0.access.childLocalAuthority = "E08000025"
                    $0.access.callerOrganisationInvolved = false
                },
            ])
        #expect(try await Self.items(fixture).map(\.rule) == ["uninvolved-other-authority"])
    }

    @Test("viewing a child who shares the practitioner's surname and postcode")
    func sharesSurnameAndPostcode() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        try await Self.append(fixture, [fixture.view { $0.access.sharesCallerSurnameAndPostcode = true }])
        #expect(try await Self.items(fixture).map(\.rule) == ["shares-surname-and-postcode"])
    }

    @Test("access outside working hours (evening, weekend; London time across the clock change) is one item per night")
    func outOfHours() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let hour: Int64 = 3_600_000
        try await Self.append(
            fixture,
            [
                fixture.view(at: AuditFixture.mondayNoon + 8 * hour),  // 20:00
                fixture.view(at: AuditFixture.mondayNoon + 9 * hour),  // 21:00, same evening
                fixture.view(at: AuditFixture.mondayNoon + 5 * 24 * hour),  // Saturday noon
            ])
        let items = try await Self.items(fixture)
        #expect(items.map(\.rule) == ["out-of-hours", "out-of-hours"])
        #expect(items.map(\.eventCount).sorted() == [1, 2])
        // 1 June 2026 is a Monday; 07:30 UTC is 08:30 in London (BST): working hours.
        let summer = MisuseRules.WorkingHours()
        #expect(summer.contains(millisecondsSince1970: 1_780_299_000_000))
        #expect(!summer.contains(millisecondsSince1970: 1_780_299_000_000 - hour))
    }

    @Test(
        "repeated denied attempts by one practitioner within the window raise one item, which shows every one of them"
    )
    func repeatedDenials() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let denied = (0..<4).map { i in
            fixture.view(at: AuditFixture.mondayNoon + Int64(i) * 60_000) {
                $0.outcome = .denied
                $0.outcomeReason = "no-reason-given"
            }
        }
        let spread = (0..<3).map { i in
            fixture.view(by: "p-2", at: AuditFixture.mondayNoon + Int64(i) * 3_600_000) { $0.outcome = .denied }
        }
        try await Self.append(fixture, denied + spread)
        let items = try await Self.items(fixture)
        #expect(items.map(\.rule) == ["repeated-denials"])
        #expect(items.first?.practitionerID == "p-1")
        // The three that raised it and the fourth that joined it; none of p-2's, nor p-1's others
        #expect(items.first?.eventCount == 4 && items.first?.refusedCount == 4)
    }

    /// Runs `body` with logs of their own on the fixture's file: another instance each, or the
    /// service after a restart.
    static func withOtherLogs(
        _ count: Int, on fixture: AuditFixture, _ body: @Sendable ([AuditLog]) async throws -> Void
    ) async throws {
        let logs = try (0..<count).map { _ in
            AuditLog(
                store: try AuditStore.open(path: "\(fixture.directory)/audit.sqlite"), rules: rules,
                clock: WallClock { Instant(milliseconds: fixture.clock) })
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for log in logs { group.addTask { await log.run() } }
            defer { group.cancelAll() }
            try await body(logs)
        }
    }

    @Test("the rules count what was logged before a restart, and what other instances on the same file log")
    func countsAcrossInstances() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let minute: Int64 = 60_000
        // Ten disclosures (the limit) by p-1, then a restart: the eleventh is one too many.
        try await Self.append(
            fixture, (0..<10).map { i in fixture.view(at: AuditFixture.mondayNoon + Int64(i) * minute) })
        #expect(try await Self.items(fixture).isEmpty)
        fixture.advance(by: minute)
        try await Self.withOtherLogs(1, on: fixture) { logs in
            _ = try await logs[0].append([fixture.view()], sender: "index")
        }
        #expect(try await Self.items(fixture).map(\.eventCount) == [1])

        // p-2's disclosures alternate between two instances: the eleventh and twelfth are reviewed.
        try await Self.withOtherLogs(2, on: fixture) { logs in
            for i in 0..<12 {
                fixture.advance(by: minute)
                _ = try await logs[i % 2].append([fixture.view(by: "p-2")], sender: "index")
            }
        }
        let items = try await Self.items(fixture)
        #expect(items.map(\.practitionerID) == ["p-2", "p-1"])
        #expect(items.map(\.eventCount) == [2, 1])
    }

    @Test("an event delivered hours after it occurred is judged against the events of its own hour")
    func lateDelivery() async throws {
        let fixture = try AuditFixture(rules: Self.rules)
        let minute: Int64 = 60_000
        let morning = AuditFixture.mondayNoon - 3 * 3_600_000
        // A forwarder delivers at noon what p-1 did at nine (an outage), and p-1's views since.
        fixture.set(clock: AuditFixture.mondayNoon)
        let late = (0..<12).map { i in fixture.view(at: morning + Int64(i) * minute) }
        let recent = (0..<8).map { i in fixture.view(at: AuditFixture.mondayNoon - Int64(i) * minute) }
        try await fixture.run { audit in
            for event in late + recent { _ = try await audit.append(.with { $0.events = [event] }) }
        }
        let items = try await Self.items(fixture)
        #expect(items.map(\.rule) == ["unusual-volume"])
        #expect(items.first?.eventCount == 2)
        #expect(items.first?.raisedAtMs == morning + 10 * minute)
    }
}
