import ContactPointAPI
import GRPCCore
import RecordFields
import Testing

@testable import Index

@Suite("Disclosure: reasons, audit events, shielding, consent")
struct DisclosureTests {
    static let amelia = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")

    func view(_ id: String, reason: Contactpoint_V1_AccessReason? = IndexFixture.reason)
        -> Contactpoint_V1_ViewRecordRequest
    {
        .with {
            $0.childID = id
            if let reason { $0.reason = reason }
        }
    }

    @Test(
        """
        a search or view of a child who shares the practitioner's family name and lives at their home postcode is \
        marked for review; the same name elsewhere, or another name there, is not
        """
    )
    func sharesSurnameAndPostcode() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(
                [Self.amelia, IndexFixture.child("Oliver", "Smith-Jones", born: "2014-02-03", postcode: "N1 9GU")],
                index)
            func marked(_ name: String, home: String?, view id: String) async throws -> (search: Bool, view: Bool) {
                let session = try fixture.session(name: name, homePostcode: home)
                _ = try await index.searchChildren(
                    .with {
                        $0.reason = IndexFixture.reason
                        $0.postcode = home ?? "SW1A 1AA"
                    }, metadata: session)
                let searched = try #require(try await fixture.auditOutbox().last)
                _ = try await index.viewRecord(view(id), metadata: session)
                let viewed = try #require(try await fixture.auditOutbox().last)
                return (
                    searched.access.sharesCallerSurnameAndPostcode, viewed.access.sharesCallerSurnameAndPostcode
                )
            }
            #expect(try await marked("Sam Smith", home: "SW1A 1AA", view: ids[0]) == (true, true))
            #expect(try await marked("Asha Smith-Jones", home: "N1 9GU", view: ids[1]) == (true, true))
            #expect(try await marked("Asha Jones", home: "N1 9GU", view: ids[1]) == (false, false))
            #expect(try await marked("Sam Smith", home: "N1 9GU", view: ids[0]) == (false, false))
            #expect(try await marked("Sam Smith", home: nil, view: ids[0]) == (false, false))
        }
    }

    @Test("a search or view without a reason is INVALID_ARGUMENT and discloses nothing, not even to the outbox")
    func reasonRequired() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            let before = try await fixture.auditOutbox().count
            let viewError = await #expect(throws: RPCError.self) {
                try await index.viewRecord(view(id, reason: nil), metadata: try fixture.session())
            }
            #expect(viewError?.code == .invalidArgument && viewError?.message.hasPrefix("reason.code:") == true)
            let searchError = await #expect(throws: RPCError.self) {
                try await index.searchChildren(
                    .with {
                        $0.givenName = "Amelia"
                        $0.familyName = "Smith"
                    }, metadata: try fixture.session())
            }
            #expect(searchError?.code == .invalidArgument)
            #expect(try await fixture.auditOutbox().count == before)
        }
    }

    @Test("every search and view leaves one access event in the outbox: who, why, which children, which fields")
    func accessEvents() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            var reason = IndexFixture.reason
            reason.text = "CAF ref 123"
            // When: a practitioner searches, then views.
            _ = try await index.searchChildren(
                .with {
                    $0.reason = reason
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                }, metadata: try fixture.session())
            _ = try await index.viewRecord(view(id, reason: reason), metadata: try fixture.session())
            // Then: two disclosure events, after the administrator's change event.
            let events = try await fixture.auditOutbox()
            #expect(events.map(\.action) == ["index/put-children", "index/search", "index/view-record"])
            let (search, view) = (events[1], events[2])
            for event in [search, view] {
                #expect(event.category == .disclosure && event.outcome == .permitted)
                #expect(event.actor.practitionerID == "p-1" && event.actor.organisationID == "org-school")
                #expect(event.reasonCode == "contact-practitioners" && event.reasonText == "CAF ref 123")
                #expect(event.childIds == [id])
                #expect(event.actor.sessionHash.count == 64)
            }
            #expect(
                search.disclosedFields == ["name", "date_of_birth", "gender", "local_authority", "postcode_district"])
            #expect(view.disclosedFields.contains("address") && view.disclosedFields.contains("carers"))
            #expect(
                view.access.childLocalAuthority == IndexFixture.authority && !view.access.callerOrganisationInvolved)
        }
    }

    @Test("a refused lookup (a role without access) is audited as denied and discloses nothing")
    func refusedRole() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            let error = await #expect(throws: RPCError.self) {
                try await index.viewRecord(view(id), metadata: try fixture.session("aud-1", roles: ["auditor"]))
            }
            #expect(error?.code == .permissionDenied)
            let denied = try #require(try await fixture.auditOutbox().last)
            #expect(
                denied.action == "index/view-record" && denied.outcome == .denied && denied.childIds == [id]
                    && denied.disclosedFields.isEmpty)
        }
    }

    @Test("when the access event cannot be written, the caller gets UNAVAILABLE and no data")
    func outboxFailureDisclosesNothing() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            try fixture.makeAuditOutboxFail()
            let error = await #expect(throws: RPCError.self) {
                try await index.viewRecord(view(id), metadata: try fixture.session())
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("Amelia") == false)
        }
    }

    @Test(
        "a shielded record is not found through its hidden address and is redacted in view; search still finds its name"
    )
    func shielding() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            _ = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: try fixture.session())
            _ = try await index.setShield(
                .with {
                    $0.childID = id
                    $0.shielded = true
                }, metadata: try fixture.administrator)
            // The notification service is told, to redact the alerts already in inboxes
            #expect(try await fixture.changeOutbox().last?.change == "record-shielded")
            #expect(try await fixture.changeOutbox().last?.childID == id)
            let practitioner = try fixture.session("p-2", org: "org-gp")
            // Search by postcode: hidden, so no match, and nothing says hidden data exists.
            let byPostcode = try await index.searchChildren(
                .with {
                    $0.reason = IndexFixture.reason
                    $0.dateOfBirth = "2015-04-01"
                    $0.postcode = "SW1A 1AA"
                }, metadata: practitioner)
            #expect(byPostcode.matches.isEmpty && !byPostcode.moreMatches)
            // Nor by the postcode alone, or with a name: the children-by-postcode index reads the
            // address, and the shield still hides it
            for given in ["", "Amelia"] {
                let atAddress = try await index.searchChildren(
                    .with {
                        $0.reason = IndexFixture.reason
                        $0.givenName = given
                        $0.postcode = "SW1A 1AA"
                    }, metadata: practitioner)
                #expect(!atAddress.matches.contains { $0.childID == id } && !atAddress.moreMatches, "\(atAddress)")
            }
            // Search by name: found, without its postcode district.
            let byName = try await index.searchChildren(
                .with {
                    $0.reason = IndexFixture.reason
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                }, metadata: practitioner)
            #expect(byName.matches.map(\.childID) == [id] && byName.matches[0].postcodeDistrict.isEmpty)
            // View: no address or carers, and no other organisation's involvement (the school is where the child is)
            let record = try await index.viewRecord(view(id), metadata: practitioner)
            #expect(record.shielded && !record.shieldOverridden)
            #expect(!record.child.hasAddress && record.child.carers.isEmpty && record.child.previousAddresses.isEmpty)
            #expect(record.involvements.isEmpty, "\(record.involvements)")
            let event = try #require(try await fixture.auditOutbox().last)
            #expect(!event.disclosedFields.contains("address") && !event.disclosedFields.contains("involvements"))

            // The surgery records its own involvement: the change event that tells the school names neither
            // organisation, and carries no contact or postcode
            _ = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement(.gpPractice, name: "Riverside Surgery")
                }, metadata: practitioner)
            let told = try #require(try await fixture.changeOutbox().last)
            #expect(told.child.shielded && told.child.postcode.isEmpty && told.organisationID == "org-gp")
            #expect(told.involvement.organisationName.isEmpty && !told.involvement.hasContact)
            #expect(told.recipients.count == 1)
            #expect(
                told.recipients.allSatisfy { $0.involvement.organisationName.isEmpty && !$0.involvement.hasContact })
            // Each organisation sees its own involvement, whole, and not the other's
            for (session, organisation) in [(practitioner, "org-gp"), (try fixture.session(), "org-school")] {
                let own = try await index.viewRecord(view(id), metadata: session)
                #expect(own.involvements.map(\.organisationID) == [organisation])
                #expect(own.involvements.allSatisfy { $0.hasContact && !$0.organisationName.isEmpty })
            }
            // Unshielded, the record is whole again.
            _ = try await index.setShield(
                .with {
                    $0.childID = id
                    $0.shielded = false
                }, metadata: try fixture.administrator)
            let whole = try await index.viewRecord(view(id), metadata: practitioner)
            #expect(!whole.shielded && whole.child.hasAddress && whole.involvements.count == 2)
            #expect(whole.involvements.allSatisfy { $0.hasContact })
        }
    }

    @Test(
        """
        shield override: refused without the named-person role or a recent step-up (and audited); granted, it \
        shows everything for that call only
        """
    )
    func shieldOverride() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            _ = try await index.setShield(
                .with {
                    $0.childID = id
                    $0.shielded = true
                }, metadata: try fixture.administrator)
            var request = view(id)
            request.shieldOverride = .with { $0.justification = .riskOfSignificantHarm }
            // Without the role.
            var error = await #expect(throws: RPCError.self) {
                try await index.viewRecord(request, metadata: try fixture.session())
            }
            #expect(error?.code == .permissionDenied)
            // With the role, but the last code was entered 10 minutes ago.
            let stale = try fixture.session(
                "np-1", roles: ["named-person"], org: "org-social-care", steppedUpSecondsAgo: 600)
            error = await #expect(throws: RPCError.self) { try await index.viewRecord(request, metadata: stale) }
            #expect(error?.code == .permissionDenied && error?.message.contains("step-up") == true)
            let refusals = try await fixture.auditOutbox().suffix(2)
            #expect(refusals.allSatisfy { $0.override == .shield && $0.outcome == .denied })
            // Granted.
            let namedPerson = try fixture.session("np-1", roles: ["named-person"], org: "org-social-care")
            let record = try await index.viewRecord(request, metadata: namedPerson)
            #expect(record.shieldOverridden && record.child.hasAddress && record.child.carers.count == 1)
            let event = try #require(try await fixture.auditOutbox().last)
            #expect(
                event.override == .shield && event.outcome == .permitted
                    && event.outcomeReason == "risk-of-significant-harm" && event.steppedUp)
            // The next view without the override is redacted again.
            let next = try await index.viewRecord(view(id), metadata: namedPerson)
            #expect(!next.shieldOverridden && !next.child.hasAddress)
        }
    }

    @Test(
        """
        a sensitive involvement: recorded only with consent; shown to its own organisation, to others only while \
        consent stands
        """
    )
    func sensitiveInvolvement() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            let clinic = try fixture.session("p-clinic", org: "org-clinic")
            let record = Contactpoint_V1_RecordInvolvementRequest.with {
                $0.childID = id
                $0.involvement = IndexFixture.involvement(.sexualHealth, name: "Riverside Clinic")
            }
            // Without consent: refused, nothing recorded, no change event.
            let error = await #expect(throws: RPCError.self) {
                try await index.recordInvolvement(record, metadata: clinic)
            }
            #expect(error?.code == .failedPrecondition)
            #expect(try await fixture.changeOutbox().isEmpty)
            // With consent.
            fixture.consent.update { $0.insert("\(id)/sexual-health") }
            let involvement = try await index.recordInvolvement(record, metadata: clinic)
            #expect(involvement.sensitive)
            let school = try fixture.session("p-school", org: "org-school")
            #expect(
                try await index.viewRecord(view(id), metadata: school).involvements.map(\.involvementID) == [
                    involvement.involvementID
                ])
            // Consent withdrawn: its own organisation still sees it; another no longer does.
            fixture.consent.update { $0.removeAll() }
            #expect(
                try await index.viewRecord(view(id), metadata: clinic).involvements.map(\.involvementID) == [
                    involvement.involvementID
                ])
            #expect(try await index.viewRecord(view(id), metadata: school).involvements.isEmpty)
        }
    }

    @Test(
        """
        a sensitive service's practitioner gives the consent with the involvement: recorded for that child and \
        service, then the involvement
        """
    )
    func consentWithInvolvement() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([Self.amelia], index)[0]
            let clinic = try fixture.session("p-clinic", org: "org-clinic")
            var record = Contactpoint_V1_RecordInvolvementRequest.with {
                $0.childID = id
                $0.involvement = IndexFixture.involvement(.camhs, name: "Riverside CAMHS")
                $0.consent = .with { $0.givenOn = "2026-11-01" }
            }
            // A bad consent: refused naming it, nothing recorded.
            var error = await #expect(throws: RPCError.self) {
                try await index.recordInvolvement(record, metadata: clinic)
            }
            #expect(error?.code == .invalidArgument && error?.message.hasPrefix("consent.giver") == true)
            // A consent for another child or service is not this involvement's.
            record.consent.giver = .parent
            record.consent.scope = [.sexualHealth]
            error = await #expect(throws: RPCError.self) { try await index.recordInvolvement(record, metadata: clinic) }
            #expect(error?.code == .invalidArgument && error?.message.hasPrefix("consent:") == true)
            #expect(fixture.consent.value.isEmpty)
            #expect(try await fixture.changeOutbox().isEmpty)
            // A consent with a service that needs none is refused too.
            var school = record
            school.involvement = IndexFixture.involvement()
            school.consent.scope = []
            error = await #expect(throws: RPCError.self) {
                try await index.recordInvolvement(school, metadata: try fixture.session())
            }
            #expect(error?.code == .invalidArgument && error?.message.hasPrefix("consent:") == true)

            record.consent.scope = []
            let involvement = try await index.recordInvolvement(record, metadata: clinic)
            #expect(fixture.consent.value == ["\(id)/camhs"] && involvement.serviceType == .camhs)
            #expect(
                try await index.viewRecord(view(id), metadata: try fixture.session()).involvements.map(\.serviceType)
                    == [.camhs])
        }
    }
}
