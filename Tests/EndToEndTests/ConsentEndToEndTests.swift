import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Supervisor
import TestSupport
import Testing

/// Consent in a real stack: the index asks the consent service before recording and showing a
/// sensitive involvement, the consent service asks the index about the child, and an override
/// reaches the auditors' review queue.
@Suite("Consent end to end", .timeLimit(.minutes(3)))
struct ConsentEndToEndTests {
    @Test(
        """
        a clinic's involvement is recorded, shown and announced only under consent; withdrawal hides it and stops \
        its alerts at once; an override shows it again and is reviewed
        """
    )
    func consentJourney() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let jo = "jo@hillside.example"
        let riya = "riya@clinic.example"
        let people = try await stack.enrolAuditorAndPractitioner(others: [
            .init(name: "Jo Morgan", email: jo, roles: ["named-person"]),
            .init(name: "Riya Shah", email: riya, organisation: ("health-trust", "Riverside Clinic")),
        ])
        func session(_ token: String) -> Metadata { ["authorization": "Bearer \(token)"] }
        let sam = session(people.practitionerToken)
        let named = session(people.others[jo]!.token)
        let clinic = session(people.others[riya]!.token)
        try stack.saveSession(people.practitionerToken)
        let samCLI = { (arguments: [String]) in
            try RunningProcess("contactpoint", arguments + ["--data-dir", stack.directory.root], name: arguments[0])
        }
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))

        try await withGRPCClient(transport: try BusClientTransport(config: stack.operatorClientConfig())) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            let consent = Contactpoint_V1_Consent.Client(wrapping: client)
            var generator = PopulationGenerator(seed: 11)
            let childID = try await index.putChildren(
                .with { $0.children = [generator.next()] }, metadata: session(people.administratorToken)
            ).childIds[0]
            func involvement(_ type: Contactpoint_V1_ServiceType, _ organisation: String)
                -> Contactpoint_V1_RecordInvolvementRequest
            {
                .with {
                    $0.childID = childID
                    $0.involvement = .with {
                        $0.serviceType = type
                        $0.organisationName = organisation
                        $0.contact = .with {
                            $0.name = "Riya Shah"
                            $0.role = "Nurse"
                            $0.telephone = "020 7946 0123"
                        }
                    }
                }
            }
            /// Whether Sam sees the clinic's involvement.
            func shownToSam() async throws -> Bool {
                try await index.viewRecord(
                    .with {
                        $0.childID = childID
                        $0.reason = .with { $0.code = .contactPractitioners }
                    }, metadata: sam
                ).involvements.contains { $0.serviceType == .sexualHealth }
            }
            _ = try await index.recordInvolvement(involvement(.educationalSetting, "Hillside Primary"), metadata: sam)

            // Without consent the clinic cannot record its involvement.
            let refused = await #expect(throws: RPCError.self) {
                try await index.recordInvolvement(involvement(.sexualHealth, "Riverside Clinic"), metadata: clinic)
            }
            #expect(refused?.code == .failedPrecondition, "\(String(describing: refused))")

            // Sam's school is involved, so Sam records the parent's consent from the command line.
            let record = try samCLI([
                "consent", "record", childID, "--scope", "sexual-health", "--consent-given-by", "parent",
                "--parent-given", "Jane", "--parent-family", "Smith",
                "--consent-given-on", today,
            ])
            #expect(await record.exited() == 0, "\(record.text)")
            let consentID = try #require(record.text.firstMatch(of: /\[(\d+)\] consent/)?.1).description
            _ = try await index.recordInvolvement(involvement(.sexualHealth, "Riverside Clinic"), metadata: clinic)
            #expect(try await shownToSam())

            // The clinic's CAMHS team is not involved yet: it gives the child's consent with its involvement.
            var camhs = involvement(.camhs, "Riverside Clinic")
            camhs.consent = .with {
                $0.giver = .child
                $0.capacityAssessedOn = today
                $0.givenOn = today
            }
            _ = try await index.recordInvolvement(camhs, metadata: clinic)
            let sees = try await index.viewRecord(
                .with {
                    $0.childID = childID
                    $0.reason = .with { $0.code = .contactPractitioners }
                }, metadata: sam)
            #expect(sees.involvements.contains { $0.serviceType == .camhs })

            // Withdrawn: hidden from Sam at once, still shown to the clinic itself.
            let withdraw = try samCLI(["consent", "withdraw", consentID])
            #expect(await withdraw.exited() == 0, "\(withdraw.text)")
            #expect(withdraw.text.contains("WITHDRAWN"), "\(withdraw.text)")
            #expect(try await !shownToSam())
            let ownView = try await index.viewRecord(
                .with {
                    $0.childID = childID
                    $0.reason = .with { $0.code = .serviceProvision }
                }, metadata: clinic)
            #expect(ownView.involvements.map(\.serviceType).contains(.sexualHealth))

            // Alerts: the school was told of both the clinic's involvements while consent stood. Withdrawn, the
            // sexual-health flag is not announced; the CAMHS one (consent standing) is, and delivery is in order,
            // so once it is in, the other would have been too.
            let involvementIDs = Dictionary(
                ownView.involvements.map { ($0.serviceType, $0.involvementID) }, uniquingKeysWith: { first, _ in first }
            )
            for type in [Contactpoint_V1_ServiceType.sexualHealth, .camhs] {
                _ = try await index.setIndicator(
                    .with {
                        $0.involvementID = involvementIDs[type]!
                        $0.kind = .takingAction
                        $0.raised = true
                    }, metadata: clinic)
            }
            let notification = Contactpoint_V1_Notification.Client(wrapping: client)
            let alerts = try await eventually("the indicator's alert at the school", every: .milliseconds(200)) {
                let alerts = try await notification.listAlerts(.init(), metadata: sam).alerts
                return alerts.contains(where: { $0.change == "indicator-raised" }) ? alerts : nil
            }
            #expect(
                alerts.map { "\($0.change) \($0.from.serviceType.rawValue)" } == [
                    "involvement-recorded \(Contactpoint_V1_ServiceType.sexualHealth.rawValue)",
                    "involvement-recorded \(Contactpoint_V1_ServiceType.camhs.rawValue)",
                    "indicator-raised \(Contactpoint_V1_ServiceType.camhs.rawValue)",
                ], "\(alerts.map(\.change))")

            // Jo, a named person who entered a code at login, overrides for child protection.
            let override = try await consent.recordOverride(
                .with {
                    $0.childID = childID
                    $0.scope = [.sexualHealth]
                    $0.justification = .askingWouldIncreaseRisk
                    $0.parentNotToldReason = .wouldIncreaseRisk
                }, metadata: named)
            #expect(try await shownToSam())

            let show = try samCLI(["consent", "show", childID, "--reason", "safeguarding-concern"])
            #expect(await show.exited() == 0, "\(show.text)")
            #expect(
                show.text.contains("[\(override.consentID)] override") && show.text.contains("[\(consentID)] consent"),
                "\(show.text)")
            #expect(show.text.contains("consent for camhs") && show.text.contains("given by the child"), "\(show.text)")

            // The override reaches the auditors' queue as a consent-override item for Jo.
            let auditor = try await stack.withIdentityClient { identity in
                try await identity.login(
                    .with {
                        $0.email = people.auditorEmail
                        $0.password = people.auditorPassword
                        $0.totpCode = people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970))
                    }
                ).token
            }
            let audit = Contactpoint_V1_Audit.Client(wrapping: client)
            let items = try await eventually("a consent-override review item", every: .milliseconds(250)) {
                let items = try await audit.listReviewItems(.init(), metadata: session(auditor)).items.filter {
                    $0.rule == "consent-override"
                }
                return items.isEmpty ? nil : items
            }
            #expect(
                items.map(\.practitionerID) == [people.others[jo]!.id] && items.allSatisfy(\.highPriority), "\(items)")
            let events = try await audit.queryEvents(
                .with {
                    $0.childID = childID
                    $0.flag = .override
                }, metadata: session(auditor)
            ).events
            #expect(
                events.map(\.event.action) == ["consent/record-override"] && events.first?.event.steppedUp == true,
                "\(events)")
        }
    }

    @Test("kill -9 of the consent service during a burst of consents loses no acknowledged consent")
    func killDuringWrites() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let people = try await stack.enrolAuditorAndPractitioner()
        let sam: Metadata = ["authorization": "Bearer \(people.practitionerToken)"]
        var config = try stack.operatorClientConfig()
        config.retryUnavailable(services: [Contactpoint_V1_Consent.descriptor.fullyQualifiedService])
        let childID = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            var generator = PopulationGenerator(seed: 12)
            let childID = try await index.putChildren(
                .with { $0.children = [generator.next()] },
                metadata: ["authorization": "Bearer \(people.administratorToken)"]
            ).childIds[0]
            _ = try await index.recordInvolvement(
                .with {
                    $0.childID = childID
                    $0.involvement = .with {
                        $0.serviceType = .educationalSetting
                        $0.organisationName = "Hillside Primary"
                        $0.contact = .with {
                            $0.name = "Sam Carter"
                            $0.role = "Deputy head"
                            $0.telephone = "020 7946 0999"
                        }
                    }
                }, metadata: sam)
            return childID
        }
        let consentPID = try stack.pid(of: "consent-1")
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let acknowledged = try await withGRPCClient(
            transport: try BusClientTransport(config: try stack.operatorClientConfig())
        ) { client in
            let consent = Contactpoint_V1_Consent.Client(wrapping: client)
            return try await stack.burst(callers: 4, killing: "consent-1") { _ in
                let recorded = try await consent.recordConsent(
                    .with {
                        $0.childID = childID
                        $0.scope = [.camhs]
                        $0.giver = .child
                        $0.capacityAssessedOn = today
                        $0.givenOn = today
                    }, metadata: sam)
                return [recorded.consentID]
            }
        }
        #expect(!acknowledged.isEmpty, "some of the burst was acknowledged, so the check below can fail")
        try await stack.waitForStatus("consent restarted") { report in
            report.isHealthy && report.processes.contains { $0.name == "consent-1" && $0.pid != consentPID }
        }
        let stored = try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            try await Contactpoint_V1_Consent.Client(wrapping: client).listConsents(
                .with {
                    $0.childID = childID
                    $0.reason = .with { $0.code = .recordMaintenance }
                }, metadata: sam)
        }
        let storedIDs = Set(stored.consents.map(\.consentID))
        #expect(Set(acknowledged).isSubset(of: storedIDs), "lost: \(Set(acknowledged).subtracting(storedIDs))")
    }
}
