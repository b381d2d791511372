import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import Identifiers
import Testing

@testable import Notification

@Suite("Alert fan-out")
struct FanOutTests {
    typealias F = NotificationFixture

    @Test(
        """
        an alert for exactly each other involved agency: its recorder, or the organisation's inbox for a feed's; \
        none to the originator
        """
    )
    func exactlyTheOthers() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let event = F.event(
                from: F.school,
                others: [(F.gp, "p-gp"), (F.socialCare, "p-sw"), (F.schoolNurse, "p-nurse"), (F.yot, "")])
            let reply = try await notification.deliverChanges(.with { $0.events = [event] })
            #expect(reply.alerts == 3 && reply.duplicates == 0)
            let gp = try await notification.listAlerts(.init(), metadata: try fixture.session("p-gp", org: "org-gp"))
                .alerts
            #expect(gp.count == 1)
            #expect(gp.first?.from.organisationID == "org-school" && gp.first?.from.contact.name == "Contact 1")
            #expect(
                gp.first?.change == "indicator-raised" && gp.first?.indicator == .informationToShare
                    && gp.first?.recipientInvolvementID == "2")
            #expect(gp.first?.child.postcode == "SW1A 1AA" && gp.first?.state == .new)
            #expect(
                try await notification.listAlerts(
                    .init(), metadata: try fixture.session("p-sw", org: "org-social-care")
                ).alerts.count == 1)
            // The school itself, through any of its practitioners or its inbox, is not told of its own flag.
            for metadata in [
                try fixture.session("p-nurse", org: "org-school"), try fixture.session("p-origin", org: "org-school"),
            ] {
                #expect(try await notification.listAlerts(.init(), metadata: metadata).alerts.isEmpty)
                #expect(
                    try await notification.listAlerts(.with { $0.organisation = true }, metadata: metadata).alerts
                        .isEmpty)
            }
            // The youth offending team's involvement came from a feed: its organisation's inbox.
            let yot = try fixture.session("p-yot", org: "org-yot")
            #expect(try await notification.listAlerts(.init(), metadata: yot).alerts.isEmpty)
            #expect(
                try await notification.listAlerts(.with { $0.organisation = true }, metadata: yot).alerts.map(
                    \.recipientInvolvementID) == ["5"])
        }
    }

    @Test(
        """
        delivered again (the index retrying), an event makes nothing twice; changes no one is told of make \
        nothing; a day on, its id is forgotten
        """
    )
    func idempotent() async throws {
        let fixture = try NotificationFixture()
        let events = ["indicator-raised", "involvement-ended", "indicator-cleared"].map {
            F.event($0, from: F.school, others: [(F.gp, "p-gp")])
        }
        let gp = try fixture.session("p-gp", org: "org-gp")
        try await fixture.run { notification in
            let first = try await notification.deliverChanges(.with { $0.events = events })
            #expect(first.alerts == 1)
            let again = try await notification.deliverChanges(.with { $0.events = Array(events.prefix(2)) })
            #expect(again.alerts == 0 && again.duplicates == 2)
            let listed = try await notification.listAlerts(.init(), metadata: gp)
            #expect(listed.alerts.count == 1)
            // A day later the ids of events taken are forgotten (a redelivery comes within seconds).
            fixture.now.update { $0 += 25 * 3_600_000 }
            try await fixture.escalator.escalateDue()
            let count = try await fixture.store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM taken_event")
            }
            #expect(count == 0)
        }
    }

    @Test(
        """
        a record shielded after its alerts were delivered: every alert about the child, in every inbox, loses the \
        postcode and which organisation flagged; other children's alerts keep theirs
        """
    )
    func shieldedAfterDelivery() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            let otherChild = (3001...3020).lazy.compactMap { ContactPointID(serial: $0) }.first!.digits
            var other = F.event(from: F.school, others: [(F.gp, "p-gp")])
            other.childID = otherChild
            _ = try await notification.deliverChanges(
                .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp")]), other] })
            let before = try await notification.listAlerts(.init(), metadata: gp).alerts
            #expect(before.count == 2 && before.allSatisfy { !$0.from.organisationName.isEmpty })

            _ = try await notification.deliverChanges(
                .with {
                    $0.events = [
                        .with {
                            $0.eventID = UUID().uuidString.lowercased()
                            $0.change = "record-shielded"
                            $0.childID = F.child
                        }
                    ]
                })
            let after = try await notification.listAlerts(.init(), metadata: gp).alerts
            let shielded = try #require(after.first { $0.childID == F.child })
            #expect(shielded.child.shielded && shielded.child.postcode.isEmpty)
            #expect(shielded.from.organisationID.isEmpty && shielded.from.organisationName.isEmpty)
            #expect(!shielded.from.hasContact && shielded.from.serviceType == F.school.serviceType)
            #expect(shielded.alertID == before.first { $0.childID == F.child }?.alertID, "the same alert, redacted")
            let untouched = try #require(after.first { $0.childID == otherChild })
            #expect(untouched.from.organisationName == F.school.organisationName && !untouched.child.postcode.isEmpty)
        }
    }

    @Test(
        """
        a sensitive service is neither announced nor told of others without consent; with it, it is; a shielded \
        child's alert has no address
        """
    )
    func consentAndShield() async throws {
        let fixture = try NotificationFixture()
        let camhs = F.involvement("9", org: "org-camhs", .camhs)
        try await fixture.run { notification in
            let gp = try fixture.session("p-gp", org: "org-gp")
            let clinic = try fixture.session("p-camhs", org: "org-camhs")
            // CAMHS records its involvement: not announced without consent.
            #expect(
                try await notification.deliverChanges(
                    .with { $0.events = [F.event("involvement-recorded", from: camhs, others: [(F.gp, "p-gp")])] }
                ).alerts == 0)
            // The school's flag is not told to CAMHS either.
            #expect(
                try await notification.deliverChanges(
                    .with { $0.events = [F.event(from: F.school, others: [(camhs, "p-camhs"), (F.gp, "p-gp")])] }
                ).alerts == 1)
            #expect(try await notification.listAlerts(.init(), metadata: clinic).alerts.isEmpty)
            // With consent, both ways.
            fixture.allow(.camhs)
            #expect(
                try await notification.deliverChanges(
                    .with { $0.events = [F.event("involvement-recorded", from: camhs, others: [(F.gp, "p-gp")])] }
                ).alerts == 1)
            #expect(
                try await notification.deliverChanges(
                    .with { $0.events = [F.event(from: F.school, others: [(camhs, "p-camhs")])] }
                ).alerts == 1)
            #expect(try await notification.listAlerts(.init(), metadata: clinic).alerts.count == 1)
            // Withdrawn: no further alerts about it.
            fixture.consent.update { $0.removeAll() }
            #expect(
                try await notification.deliverChanges(
                    .with { $0.events = [F.event("lead-professional-set", from: camhs, others: [(F.gp, "p-gp")])] }
                ).alerts == 0)
            // Shielded: the alert carries no postcode even if one was sent.
            var shielded = F.event(from: F.school, others: [(F.gp, "p-gp")], shielded: true)
            shielded.child.postcode = "SW1A 1AA"
            shielded.involvement.indicators = [
                .with {
                    $0.kind = .informationToShare
                    $0.raisedBy = "p-origin"
                }
            ]
            #expect(try await notification.deliverChanges(.with { $0.events = [shielded] }).alerts == 1)
            let last = try #require(try await notification.listAlerts(.init(), metadata: gp).alerts.last)
            #expect(last.child.shielded && last.child.postcode.isEmpty)
            // Nor which organisation flagged, even from an index that sent it: only the kind of service
            #expect(last.from.organisationID.isEmpty && last.from.organisationName.isEmpty && !last.from.hasContact)
            #expect(last.from.indicators.map(\.kind) == [.informationToShare])
            #expect(last.from.indicators.allSatisfy { $0.raisedBy.isEmpty }, "who raised it is of that organisation")
            #expect(last.from.serviceType == shielded.involvement.serviceType)
        }
    }

    @Test(
        """
        when consent cannot be asked, delivery fails and stores nothing; delivered again later, the alerts are \
        made once
        """
    )
    func consentDown() async throws {
        let fixture = try NotificationFixture()
        let camhs = F.involvement("9", org: "org-camhs", .camhs)
        try await fixture.run { notification in
            let event = F.event(from: F.school, others: [(camhs, "p-camhs"), (F.gp, "p-gp")])
            fixture.consentDown.update { $0 = true }
            let error = await #expect(throws: RPCError.self) {
                try await notification.deliverChanges(.with { $0.events = [event] })
            }
            #expect(error?.code == .unavailable)
            fixture.consentDown.update { $0 = false }
            let again = try await notification.deliverChanges(.with { $0.events = [event] })
            #expect(again.alerts == 1)
        }
    }

    @Test("only the feeder principals deliver; a bad event is INVALID_ARGUMENT naming it and nothing is stored")
    func feedersOnly() async throws {
        let fixture = try NotificationFixture()
        let event = F.event(from: F.school, others: [(F.gp, "p-gp")])
        try await fixture.run(feeders: ["index"]) { notification in
            let error = await #expect(throws: RPCError.self) {
                try await notification.deliverChanges(.with { $0.events = [event] })
            }
            #expect(error?.code == .permissionDenied)
        }
        try await fixture.run { notification in
            var bad = event
            bad.childID = "123"
            let error = await #expect(throws: RPCError.self) {
                try await notification.deliverChanges(.with { $0.events = [event, bad] })
            }
            #expect(error?.code == .invalidArgument && error?.message.hasPrefix("events[1].child_id") == true)
            let listed = try await notification.listAlerts(
                .init(), metadata: try fixture.session("p-gp", org: "org-gp"))
            #expect(listed.alerts.isEmpty)
        }
    }
}
