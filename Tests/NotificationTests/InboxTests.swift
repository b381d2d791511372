import ContactPointAPI
import GRPCCore
import Testing

@testable import Notification

@Suite("Alert inboxes")
struct InboxTests {
    typealias F = NotificationFixture

    @Test(
        "states move forward only, by the recipient, named as their session names them; every read and change is audited"
    )
    func states() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            _ = try await notification.deliverChanges(
                .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp")])] })
            let gp = try fixture.session("p-gp", name: "Dr Priya Shah", org: "org-gp")
            let alert = try #require(try await notification.listAlerts(.init(), metadata: gp).alerts.first)
            for state in [Contactpoint_V1_AlertState.read, .acknowledged, .contactMade] {
                let updated = try await notification.updateAlert(
                    .with {
                        $0.alertID = alert.alertID
                        $0.state = state
                    }, metadata: gp)
                #expect(updated.state == state && updated.updatedBy == "p-gp")
                #expect(updated.updatedByName == "Dr Priya Shah")
            }
            let backwards = await #expect(throws: RPCError.self) {
                try await notification.updateAlert(
                    .with {
                        $0.alertID = alert.alertID
                        $0.state = .read
                    }, metadata: gp)
            }
            #expect(backwards?.code == .failedPrecondition)
            // Someone else's alert does not exist for them.
            let other = await #expect(throws: RPCError.self) {
                try await notification.updateAlert(
                    .with {
                        $0.alertID = alert.alertID
                        $0.state = .contactMade
                    }, metadata: try fixture.session("p-sw", org: "org-social-care"))
            }
            #expect(other?.code == .notFound)
            let audit = try await fixture.auditOutbox()
            #expect(
                audit.map(\.action) == ["notification/list-alerts"]
                    + Array(repeating: "notification/update-alert", count: 4))
            #expect(
                audit[0].category == .disclosure && audit[0].childIds == [F.child]
                    && audit[0].actor.practitionerID == "p-gp")
            #expect(audit.dropFirst().map(\.outcomeReason) == ["read", "acknowledged", "contact-made", "not-yours"])
            // The other organisation's attempt is a refusal, audited as one
            #expect(audit.last?.outcome == .denied && audit.last?.actor.practitionerID == "p-sw")
            // Each change, and the refusal, names the alert by the id its recipient was given
            #expect(audit.dropFirst().allSatisfy { $0.subjectID == alert.alertID }, "\(audit.map(\.subjectID))")
        }
    }

    @Test("alerts are for practitioners and named persons: anyone else is refused, and the refusal is audited")
    func practitionersOnly() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            let administrator = try fixture.session("la-admin", org: "org-la", roles: ["la-administrator"])
            let error = await #expect(throws: RPCError.self) {
                try await notification.listAlerts(.init(), metadata: administrator)
            }
            #expect(error?.code == .permissionDenied)
            let audit = try await fixture.auditOutbox()
            #expect(audit.map(\.action) == ["notification/list-alerts"])
            #expect(audit.first?.outcome == .denied && audit.first?.outcomeReason == "not-authorized")
            #expect(audit.first?.actor.practitionerID == "la-admin")
        }
    }

    @Test(
        """
        an agency gateway reads and moves on its own organisation's alerts only; an unknown principal without a \
        session nothing
        """
    )
    func gateways() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            _ = try await notification.deliverChanges(
                .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp"), (F.socialCare, "p-sw")])] })
        }
        // The gateway's principal is organisation A's (the GP's): it gets the GP's alert and never social care's.
        try await fixture.run(gateways: [F.peer: "org-gp"]) { notification in
            let listed = try await notification.listAlerts(.init())
            #expect(listed.alerts.map(\.recipientOrganisationID) == ["org-gp"])
            let socialCare = try await notification.listAlerts(
                .init(), metadata: try fixture.session("p-sw", org: "org-social-care")
            ).alerts[0]
            let error = await #expect(throws: RPCError.self) {
                try await notification.updateAlert(
                    .with {
                        $0.alertID = socialCare.alertID
                        $0.state = .acknowledged
                    })
            }
            #expect(error?.code == .notFound)
            // The refusal names the alert as the caller gave it, never the sequence behind it
            #expect(error?.message == "alert_id: no alert \(socialCare.alertID) of yours")
            let acknowledged = try await notification.updateAlert(
                .with {
                    $0.alertID = listed.alerts[0].alertID
                    $0.state = .acknowledged
                })
            #expect(acknowledged.updatedBy == "gateway:\(F.peer)")
            let followed = try await notification.subscribe(.init()) { response in
                var alerts: [Contactpoint_V1_Alert] = []
                for try await alert in response.messages {
                    alerts.append(alert)
                    break
                }
                return alerts
            }
            #expect(followed.map(\.recipientOrganisationID) == ["org-gp"])
        }
        try await fixture.run { notification in
            let error = await #expect(throws: RPCError.self) { try await notification.listAlerts(.init()) }
            #expect(error?.code == .unauthenticated)
        }
    }

    @Test(
        """
        an alert not acknowledged in time is escalated once into its organisation's inbox (injected clock); an \
        acknowledged one is not
        """
    )
    func escalation() async throws {
        let fixture = try NotificationFixture()
        try await fixture.run { notification in
            _ = try await notification.deliverChanges(
                .with { $0.events = [F.event(from: F.school, others: [(F.gp, "p-gp"), (F.socialCare, "p-sw")])] })
            let sw = try fixture.session("p-sw", org: "org-social-care")
            let acknowledged = try await notification.listAlerts(.init(), metadata: sw).alerts[0]
            _ = try await notification.updateAlert(
                .with {
                    $0.alertID = acknowledged.alertID
                    $0.state = .acknowledged
                }, metadata: sw)
            fixture.now.update { $0 += 30 * 60_000 }
            #expect(try await fixture.escalator.escalateDue() == 0)
            fixture.now.update { $0 += 60 * 60_000 }
            #expect(try await fixture.escalator.escalateDue() == 1)
            #expect(try await fixture.escalator.escalateDue() == 0)
            let gp = try fixture.session("p-gp", org: "org-gp")
            let original = try await notification.listAlerts(.init(), metadata: gp).alerts[0]
            #expect(original.escalatedAtMs == fixture.now.value)
            let inbox = try await notification.listAlerts(
                .with { $0.organisation = true }, metadata: try fixture.session("p-gp-2", org: "org-gp")
            ).alerts
            #expect(
                inbox.map(\.escalatedFrom) == [original.alertID] && inbox[0].state == .new
                    && inbox[0].alertID != original.alertID)
            #expect(try await notification.listAlerts(.with { $0.organisation = true }, metadata: sw).alerts.isEmpty)
        }
    }
}
