import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Index
import TestSupport
import Testing

/// A shielded child through the real executables: what a practitioner of another agency sees,
/// what an alert tells them, and what a subject-access report says (docs/INDEX.md, *Shielding and
/// override*).
@Suite("Shielding end to end", .timeLimit(.minutes(3)))
struct ShieldingEndToEndTests {
    @Test(
        """
        a shielded child's view, search result, alert and subject-access report name no other organisation, \
        contact or address; the flagging agency's own view is whole
        """
    )
    func shieldedChild() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let asha = "asha@riverside.example"
        let lee = "lee@camden-childrens.example"
        let people = try await stack.enrolAuditorAndPractitioner(others: [
            .init(name: "Asha Patel", email: asha, organisation: ("gp-practice", "Riverside Surgery")),
            .init(
                name: "Lee Okafor", email: lee, roles: ["la-administrator"],
                organisation: ("childrens-services", "Camden Children's Services")),
        ])
        @Sendable func session(_ token: String) -> Metadata { ["authorization": "Bearer \(token)"] }
        let sam = session(people.practitionerToken)
        let gp = session(people.others[asha]!.token)
        let administrator = session(people.others[lee]!.token)
        let auditor = try await stack.withIdentityClient { identity in
            session(
                try await identity.login(
                    .with {
                        $0.email = people.auditorEmail
                        $0.password = people.auditorPassword
                        $0.totpCode = people.auditorOTP.code(at: Int64(Date().timeIntervalSince1970))
                    }
                ).token)
        }

        try await withGRPCClient(transport: try BusClientTransport(config: stack.operatorClientConfig())) { client in
            let index = Contactpoint_V1_Index.Client(wrapping: client)
            let notification = Contactpoint_V1_Notification.Client(wrapping: client)
            let audit = Contactpoint_V1_Audit.Client(wrapping: client)
            var generator = PopulationGenerator(seed: 24)
            var entry = generator.next()
            entry.child.localAuthority = "E09000033"
            entry.involvements = []
            let child = entry.child
            let childID = try await index.putChildren(
                .with { $0.children = [entry] }, metadata: session(people.administratorToken)
            ).childIds[0]
            func involvement(_ type: Contactpoint_V1_ServiceType, _ name: String, contact: String)
                -> Contactpoint_V1_RecordInvolvementRequest
            {
                .with {
                    $0.childID = childID
                    $0.involvement = .with {
                        $0.serviceType = type
                        $0.organisationName = name
                        $0.contact = .with {
                            $0.name = contact
                            $0.role = "Lead"
                            $0.telephone = "020 7946 0999"
                        }
                    }
                }
            }
            _ = try await index.recordInvolvement(
                involvement(.gpPractice, "Riverside Surgery", contact: "Asha Patel"), metadata: gp)
            let school = try await index.recordInvolvement(
                involvement(.educationalSetting, "Hillside Primary", contact: "Sam Carter"), metadata: sam
            ).involvementID
            let view = Contactpoint_V1_ViewRecordRequest.with {
                $0.childID = childID
                $0.reason = .with { $0.code = .safeguardingConcern }
            }
            // Practitioners saw the school and the surgery; a subject-access report names them
            #expect(try await index.viewRecord(view, metadata: gp).involvements.count == 2)

            // The child's local authority shields the record; the school then flags
            _ = try await index.setShield(
                .with {
                    $0.childID = childID
                    $0.shielded = true
                }, metadata: administrator)
            _ = try await index.setIndicator(
                .with {
                    $0.involvementID = school
                    $0.kind = .informationToShare
                    $0.raised = true
                }, metadata: sam)

            // The surgery's alert says what kind of service flagged, not which, nor where the child lives
            let alert = try await eventually("the surgery's alert of the flag", every: .milliseconds(200)) {
                try await notification.listAlerts(.init(), metadata: gp).alerts.first {
                    $0.change == "indicator-raised"
                }
            }
            #expect(alert.child.shielded && alert.child.postcode.isEmpty)
            #expect(alert.from.serviceType == .educationalSetting && alert.indicator == .informationToShare)
            let told = try alert.serializedBytes() as [UInt8]
            for secret in [
                "Hillside", "Sam Carter", people.practitionerID, child.address.postcode, child.address.lines[0],
            ] {
                #expect(!String(decoding: told, as: UTF8.self).contains(secret), "the alert says \(secret)")
            }

            // The same alert on the command line says where to make enquiries instead
            try stack.saveSession(people.others[asha]!.token)
            let listed = try RunningProcess(
                "contactpoint", ["alerts", "--data-dir", stack.directory.root], name: "alerts")
            #expect(await listed.exited() == 0, "\(listed.text)")
            #expect(listed.text.contains("the record is shielded: make enquiries"), "\(listed.text)")
            #expect(!listed.text.contains("Hillside") && !listed.text.contains("Sam Carter"), "\(listed.text)")

            // The surgery's view: its own involvement whole, not the school's, no address or carers
            let seen = try await index.viewRecord(view, metadata: gp)
            #expect(seen.shielded && !seen.child.hasAddress && seen.child.carers.isEmpty)
            #expect(seen.involvements.map(\.organisationName) == ["Riverside Surgery"])
            // The school's own view shows the school
            #expect(
                try await index.viewRecord(view, metadata: sam).involvements.map(\.organisationName) == [
                    "Hillside Primary"
                ])
            // Search: found by name, with no postcode district
            let found = try await index.searchChildren(
                .with {
                    $0.reason = .with { $0.code = .safeguardingConcern }
                    $0.givenName = child.name.given
                    $0.familyName = child.name.family
                    $0.dateOfBirth = child.dateOfBirth
                }, metadata: gp
            ).matches.first { $0.childID == childID }
            #expect(found?.postcodeDistrict.isEmpty == true, "\(String(describing: found))")

            // Subject access: when, in which role and why; not which organisations
            let report = try await eventually("the views in the subject-access report", every: .milliseconds(200)) {
                let report = try await audit.subjectAccess(.with { $0.childID = childID }, metadata: auditor)
                return report.entries.count >= 4 ? report : nil
            }
            #expect(report.organisationsWithheld)
            #expect(report.entries.allSatisfy { $0.organisationID.isEmpty && $0.localAuthority.isEmpty })
        }
    }
}
