import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Supervisor
import TestSupport
import Testing
import ZeroMQ

/// Alerts in a real stack: the index's change outbox forwarded to the notification service, a
/// live subscriber, a notification service stopped while flags are raised, and an agency gateway
/// (the operator's key, mapped to one organisation) that can reach nothing of another's.
@Suite("Notification end to end", .timeLimit(.minutes(3)))
struct NotificationEndToEndTests {
    @Test(
        """
        flags reach the other agencies live; raised while notification is stopped, each arrives once after its \
        restart; a gateway key reaches its organisation's alerts only
        """
    )
    func alerts() async throws {
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_GATEWAY": "operator=org-feed-gp"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let asha = "asha@riverside.example"
        let people = try await stack.enrolAuditorAndPractitioner(others: [
            .init(name: "Asha Patel", email: asha, organisation: ("gp-practice", "Riverside Surgery"))
        ])
        let sam: Metadata = ["authorization": "Bearer \(people.practitionerToken)"]
        let gp: Metadata = ["authorization": "Bearer \(people.others[asha]!.token)"]
        var config = try stack.operatorClientConfig()
        config.retryUnavailable(services: [Contactpoint_V1_Notification.descriptor.fullyQualifiedService])

        try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            let notification = Contactpoint_V1_Notification.Client(wrapping: client)
            // A feed gives the child two agencies (their organisations' inboxes); Asha's surgery records its own.
            var generator = PopulationGenerator(seed: 21)
            var entry = generator.next()
            entry.involvements = [
                ("org-feed-gp", Contactpoint_V1_ServiceType.gpPractice), ("org-feed-yot", .youthOffendingTeam),
            ].map { org, type in
                .with {
                    $0.serviceType = type
                    $0.organisationID = org
                    $0.organisationName = "Feed \(org)"
                    $0.contact = .with {
                        $0.name = "Pat Jones"
                        $0.role = "Duty officer"
                        $0.telephone = "020 7946 0555"
                    }
                }
            }
            let childID = try await index.putChildren(
                .with { $0.children = [entry] }, metadata: ["authorization": "Bearer \(people.administratorToken)"]
            ).childIds[0]
            func involvement(_ type: Contactpoint_V1_ServiceType, _ name: String)
                -> Contactpoint_V1_RecordInvolvementRequest
            {
                .with {
                    $0.childID = childID
                    $0.involvement = .with {
                        $0.serviceType = type
                        $0.organisationName = name
                        $0.contact = .with {
                            $0.name = "Sam Carter"
                            $0.role = "Deputy head"
                            $0.telephone = "020 7946 0999"
                        }
                    }
                }
            }
            _ = try await index.recordInvolvement(involvement(.gpPractice, "Riverside Surgery"), metadata: gp)
            // Asha also follows from the command line.
            try stack.saveSession(people.others[asha]!.token)
            let ashaCLI = { (arguments: [String]) in
                try RunningProcess("contactpoint", arguments + ["--data-dir", stack.directory.root], name: "alerts")
            }
            let follower = try ashaCLI(["alerts", "--follow"])
            defer { follower.killHard() }

            // Live: Asha follows; Sam's school records its involvement; the alert arrives on the stream.
            let live = try await withThrowingTaskGroup(of: Contactpoint_V1_Alert?.self) { group in
                group.addTask {
                    try await notification.subscribe(.init(), metadata: gp) { response in
                        for try await alert in response.messages where alert.change == "involvement-recorded" {
                            return alert
                        }
                        return nil
                    }
                }
                group.addTask {
                    // Whether the subscription is open yet or not, the alert is delivered: on the stream or from the
                    // backlog.
                    _ = try await index.recordInvolvement(
                        involvement(.educationalSetting, "Hillside Primary"), metadata: sam)
                    return nil
                }
                var alert: Contactpoint_V1_Alert?
                for try await result in group where result != nil { alert = result }
                return alert
            }
            let first = try #require(live)
            try await follower.waitForOutput(
                containing: "from Hillside Primary (educational-setting): Sam Carter, Deputy head, 020 7946 0999")
            #expect(
                first.from.organisationName == "Hillside Primary" && first.from.contact.telephone == "020 7946 0999"
                    && first.childID == childID)
            #expect(
                first.recipientPractitionerID == people.others[asha]!.id
                    && first.child.dateOfBirth == entry.child.dateOfBirth)

            // Notification stopped; three indicators raised; then it is killed and `up` starts it again.
            let school = try await index.viewRecord(
                .with {
                    $0.childID = childID
                    $0.reason = .with { $0.code = .contactPractitioners }
                }, metadata: sam
            )
            .involvements.first { $0.organisationName == "Hillside Primary" }!.involvementID
            let notificationPID = try stack.pid(of: "notification-1")
            kill(notificationPID, SIGSTOP)
            for kind in [Contactpoint_V1_IndicatorKind.informationToShare, .takingAction, .cafCompleted] {
                _ = try await index.setIndicator(
                    .with {
                        $0.involvementID = school
                        $0.kind = kind
                        $0.raised = true
                    }, metadata: sam)
            }
            kill(notificationPID, SIGKILL)
            try await stack.waitForStatus("notification restarted") { report in
                report.isHealthy
                    && report.processes.contains { $0.name == "notification-1" && $0.pid != notificationPID }
            }
            // One more, after the restart: delivery is in order, so once it is in, so is everything before it.
            _ = try await index.setLeadProfessional(
                .with {
                    $0.involvementID = school
                    $0.lead = true
                }, metadata: sam)
            let alerts = try await eventually("the lead professional's alert at the GP", timeout: .seconds(60)) {
                let alerts = try await notification.listAlerts(.init(), metadata: gp).alerts
                return alerts.contains(where: { $0.change == "lead-professional-set" }) ? alerts : nil
            }
            #expect(
                alerts.map { "\($0.change) \($0.indicator.rawValue)" }.sorted() == [
                    "indicator-raised 1", "indicator-raised 2", "indicator-raised 3", "involvement-recorded 0",
                    "lead-professional-set 0",
                ], "\(alerts.map(\.change))")

            let listed = try ashaCLI(["alerts"])
            #expect(await listed.exited() == 0)
            #expect(listed.text.components(separatedBy: "from Hillside Primary").count - 1 == 5, "\(listed.text)")
            let ack = try ashaCLI(["alerts", "ack", first.alertID])
            #expect(await ack.exited() == 0)
            #expect(ack.text.contains("[\(first.alertID)]") && ack.text.contains("ACKNOWLEDGED"), "\(ack.text)")
            #expect(ack.text.contains("acknowledged by Asha Patel (p-"), "named, not an id alone: \(ack.text)")

            // The gateway (the operator's key, mapped to org-feed-gp) reads that organisation's alerts and nothing
            // else:
            // Asha's surgery's involvement and the school's five changes.
            let gateway = try await notification.listAlerts(.with { $0.organisation = true })
            #expect(
                gateway.alerts.count == 6 && gateway.alerts.allSatisfy { $0.recipientOrganisationID == "org-feed-gp" })
            let followed = try await notification.subscribe(.with { $0.organisation = true }) { response in
                var count = 0
                for try await alert in response.messages {
                    #expect(alert.recipientOrganisationID == "org-feed-gp")
                    count += 1
                    if count == 6 { break }
                }
                return count
            }
            #expect(followed == 6)
            // Asha's alerts, by their ids, are not the gateway's to move
            let own = Set(gateway.alerts.map(\.alertID))
            let others = alerts.map(\.alertID).filter { !own.contains($0) }
            #expect(others.count == 5)
            for id in others {
                let error = await #expect(throws: RPCError.self) {
                    try await notification.updateAlert(
                        .with {
                            $0.alertID = id
                            $0.state = .acknowledged
                        })
                }
                #expect(error?.code == .notFound)
            }
            #expect(
                try await notification.updateAlert(
                    .with {
                        $0.alertID = gateway.alerts[0].alertID
                        $0.state = .acknowledged
                    }
                ).state == .acknowledged)
        }
        // Another principal's key, with no session and no gateway mapping, reads nothing.
        var echoKey = try stack.operatorClientConfig()
        echoKey.keyPair = try KeyFile.readKeyPair(at: stack.directory.keyFile(principal: "echo"))
        try await withGRPCClient(transport: try BusClientTransport(config: echoKey)) { client in
            let error = await #expect(throws: RPCError.self) {
                try await Contactpoint_V1_Notification.Client(wrapping: client).listAlerts(.init())
            }
            #expect(error?.code == .unauthenticated)
        }
    }
}
