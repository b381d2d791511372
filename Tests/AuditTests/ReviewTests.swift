import ContactPointAPI
import Foundation
import GRPCCore
import Testing

@testable import Audit

@Suite("Audit review, queries and subject access", .timeLimit(.minutes(1)))
struct ReviewTests {
    @Test("an auditor lists, opens and closes items; opening shows the events; every step is itself logged")
    func reviewQueue() async throws {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            let auditor = try fixture.auditor
            _ = try await audit.append(.with { $0.events = [fixture.view { $0.override = .shield }] })
            let listed = try await audit.listReviewItems(.init(), metadata: auditor)
            #expect(listed.items.map(\.rule) == ["shield-override"])
            let item = try #require(listed.items.first)
            #expect(item.status == .open)

            let detail = try await audit.openReviewItem(.with { $0.itemID = item.itemID }, metadata: auditor)
            #expect(detail.item.status == .inReview && detail.item.reviewedBy == "auditor-1")
            #expect(detail.events.map(\.event.override) == [.shield])

            let closed = try await audit.recordReviewOutcome(
                .with {
                    $0.itemID = item.itemID
                    $0.outcome = .adviceGiven
                }, metadata: auditor)
            #expect(closed.status == .closed && closed.outcome == .adviceGiven)
            #expect(try await audit.listReviewItems(.init(), metadata: auditor).items.isEmpty)
            #expect(try await audit.listReviewItems(.with { $0.status = .closed }, metadata: auditor).items.count == 1)

            let again = await #expect(throws: RPCError.self) {
                try await audit.recordReviewOutcome(
                    .with {
                        $0.itemID = item.itemID
                        $0.outcome = .noConcern
                    }, metadata: auditor)
            }
            #expect(again?.code == .failedPrecondition)
            let unknown = await #expect(throws: RPCError.self) {
                try await audit.openReviewItem(.with { $0.itemID = "no-such-item" }, metadata: auditor)
            }
            #expect(unknown?.code == .notFound)
        }
        let reviews = try await fixture.store.events(matching: .init()).filter { $0.event.category == .review }.map(
            \.event)
        #expect(
            Set(reviews.map(\.action)) == [
                "audit/list-review-items", "audit/open-review-item", "audit/record-review-outcome",
            ])
        #expect(reviews.allSatisfy { $0.actor.practitionerID == "auditor-1" && $0.actor.sessionHash.count == 64 })
        #expect(reviews.first { $0.action == "audit/record-review-outcome" }?.outcomeReason == "advice-given")
    }

    @Test("an item says how many of its events were refused: a refused override disclosed nothing")
    func refusedOverrides() async throws {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            _ = try await audit.append(.with { $0.events = [fixture.view { $0.override = .shield }] })
            _ = try await audit.append(
                .with {
                    $0.events = [
                        fixture.view {
                            $0.override = .shield
                            $0.outcome = .denied
                            $0.outcomeReason = "not-authorized"
                            $0.actor.practitionerID = "p-refused"
                        }
                    ]
                })
            let items = try await audit.listReviewItems(.init(), metadata: try fixture.auditor).items
            let refused = try #require(items.first { $0.practitionerID == "p-refused" })
            let permitted = try #require(items.first { $0.practitionerID != "p-refused" })
            #expect(refused.rule == "shield-override" && refused.eventCount == 1 && refused.refusedCount == 1)
            #expect(permitted.rule == "shield-override" && permitted.eventCount == 1 && permitted.refusedCount == 0)
        }
    }

    @Test("account suspended: identity is asked first; if that fails the item stays open")
    func suspension() async throws {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            let auditor = try fixture.auditor
            _ = try await audit.append(.with { $0.events = [fixture.view(by: "p-9") { $0.override = .consent }] })
            let item = try #require(try await audit.listReviewItems(.init(), metadata: auditor).items.first)
            let suspend = Contactpoint_V1_RecordReviewOutcomeRequest.with {
                $0.itemID = item.itemID
                $0.outcome = .accountSuspended
            }
            fixture.suspensionFails.update { $0 = true }
            let failed = await #expect(throws: RPCError.self) {
                try await audit.recordReviewOutcome(suspend, metadata: auditor)
            }
            #expect(failed?.code == .unavailable)
            #expect(try await audit.listReviewItems(.init(), metadata: auditor).items.first?.status == .open)

            fixture.suspensionFails.update { $0 = false }
            let closed = try await audit.recordReviewOutcome(suspend, metadata: auditor)
            #expect(closed.outcome == .accountSuspended)
            #expect(fixture.suspended.value == ["p-9"])
        }
    }

    @Test("only auditors and local-authority administrators review; an administrator sees their own authority only")
    func scope() async throws {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            _ = try await audit.append(
                .with {
                    $0.events = [
                        fixture.view(by: "p-1", la: "E09000033") { $0.override = .shield },
                        fixture.view(by: "p-2", la: "E08000025") { $0.override = .shield },
                    ]
                })
            let practitioner = await #expect(throws: RPCError.self) {
                try await audit.listReviewItems(.init(), metadata: try fixture.session())
            }
            #expect(practitioner?.code == .permissionDenied)
            let refusals = try await audit.queryEvents(
                .with { $0.practitionerID = "p-1" }, metadata: try fixture.auditor
            ).events.map(\.event)
                .filter { $0.action == "audit/list-review-items" }
            #expect(refusals.map(\.outcome) == [.denied], "the practitioner's refused review is itself in the log")
            let administrator = try fixture.session("la-admin", roles: ["la-administrator"], la: "E08000025")
            let items = try await audit.listReviewItems(.init(), metadata: administrator).items
            #expect(items.map(\.practitionerID) == ["p-2"])
            let events = try await audit.queryEvents(.init(), metadata: administrator).events
            #expect(events.map(\.event.actor.practitionerID).filter { $0.hasPrefix("p-") } == ["p-2"])
            let all = try await audit.listReviewItems(.init(), metadata: try fixture.auditor).items
            #expect(all.count == 2)
            let hidden = await #expect(throws: RPCError.self) {
                try await audit.openReviewItem(
                    .with { $0.itemID = all.first { $0.practitionerID == "p-1" }!.itemID }, metadata: administrator)
            }
            #expect(hidden?.code == .notFound)
        }
    }

    @Test("queries by child, practitioner, organisation, time and flag, newest first, paged")
    func queries() async throws {
        let fixture = try AuditFixture()
        let child = AuditFixture.child(555_000_000)
        try await fixture.run { audit in
            var events = (0..<12).map { i in
                fixture.view(
                    child: AuditFixture.child(600 + i), by: "p-\(i % 3)", at: fixture.clock - Int64(12 - i) * 1000)
            }
            events[4].childIds = [child]
            events[9].childIds = [child, AuditFixture.child(700)]
            events[7].outcome = .denied
            _ = try await audit.append(.with { $0.events = events })
            let auditor = try fixture.auditor
            let byChild = try await audit.queryEvents(.with { $0.childID = child }, metadata: auditor).events
            #expect(byChild.map(\.leafIndex) == [9, 4])
            let byPractitioner = try await audit.queryEvents(.with { $0.practitionerID = "p-1" }, metadata: auditor)
                .events
            #expect(byPractitioner.map(\.leafIndex) == [10, 7, 4, 1])
            let denied = try await audit.queryEvents(.with { $0.flag = .denied }, metadata: auditor).events
            #expect(denied.map(\.leafIndex) == [7])
            let window = try await audit.queryEvents(
                .with {
                    $0.fromMs = events[2].occurredAtMs
                    $0.toMs = events[5].occurredAtMs
                    $0.organisationID = "org-1"
                }, metadata: auditor
            ).events
            #expect(window.map(\.leafIndex) == [4, 3, 2])
            var pages: [[UInt64]] = []
            var token = ""
            repeat {
                let page = try await audit.queryEvents(
                    .with {
                        $0.practitionerID = "p-0"
                        $0.pageSize = 3
                        $0.pageToken = token
                    }, metadata: auditor)
                pages.append(page.events.map(\.leafIndex))
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(pages.flatMap { $0 } == [9, 6, 3, 0])
            let bad = await #expect(throws: RPCError.self) {
                try await audit.queryEvents(.with { $0.childID = "123" }, metadata: auditor)
            }
            #expect(bad?.code == .invalidArgument && bad?.message.hasPrefix("child_id:") == true)
        }
    }

    @Test("subject access: who (organisation and role), when and why, for permitted disclosures of that child only")
    func subjectAccess() async throws {
        let fixture = try AuditFixture()
        let child = AuditFixture.child(321_000_000)
        let report = try await fixture.run { audit in
            _ = try await audit.append(
                .with {
                    $0.events = [
                        fixture.view(child: child) { $0.reasonCode = "school-admission" },
                        fixture.view(child: child) { $0.outcome = .denied },
                        fixture.view(child: AuditFixture.child(1)),
                        fixture.view(child: child, by: "p-2") {
                            $0.actor.organisationID = "gp-7"
                            $0.actor.roles = ["practitioner", "named-person"]
                            $0.reasonText = "annual review"
                            $0.override = .shield
                            $0.outcomeReason = "risk-of-significant-harm"
                        },
                    ]
                })
            return try await audit.subjectAccess(.with { $0.childID = child }, metadata: try fixture.auditor)
        }
        #expect(report.childID == child)
        #expect(report.entries.map(\.organisationID) == ["org-1", "gp-7"])
        #expect(report.entries.map(\.reasonCode) == ["school-admission", "safeguarding-enquiry"])
        #expect(
            report.entries[1].roles == ["practitioner", "named-person"]
                && report.entries[1].reasonText == "annual review")
        // A view that overrode the shield says so, with its justification
        #expect(report.entries.map(\.override) == [.none, .shield])
        #expect(report.entries[1].overrideJustification == "risk-of-significant-harm")
        #expect(!report.organisationsWithheld)
        let logged = try await fixture.store.events(matching: .init(childID: child))
        #expect(
            logged.first?.event.action == "audit/subject-access", "the report itself is an access to the child's record"
        )
    }

    @Test(
        """
        subject access for a shielded child withholds which organisations accessed the record; when the index \
        cannot say whether it is shielded, no report is given
        """
    )
    func shieldedSubjectAccess() async throws {
        let fixture = try AuditFixture()
        let child = AuditFixture.child(321_000_000)
        try await fixture.run { audit in
            _ = try await audit.append(
                .with { $0.events = [fixture.view(child: child) { $0.reasonCode = "school-admission" }] })
            fixture.shieldedChildren.update { $0 = [child] }
            let report = try await audit.subjectAccess(.with { $0.childID = child }, metadata: try fixture.auditor)
            #expect(report.organisationsWithheld && report.entries.count == 1)
            #expect(report.entries.allSatisfy { $0.organisationID.isEmpty && $0.localAuthority.isEmpty })
            #expect(report.entries[0].reasonCode == "school-admission", "when and why still show")

            fixture.shieldedChildren.update { $0 = nil }
            let unknown = await #expect(throws: RPCError.self) {
                try await audit.subjectAccess(.with { $0.childID = child }, metadata: try fixture.auditor)
            }
            #expect(unknown?.code == .unavailable)
        }
    }
}
