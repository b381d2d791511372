import ContactPointAPI
import GRPCCore
import Testing

@testable import Consent

@Suite("Consent authorization and audit")
struct AuthorizationTests {
    @Test(
        """
        involved practitioners, named persons and the child's own authority's administrators record; others are \
        refused and audited
        """
    )
    func whoRecords() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let request = ConsentFixture.parentConsent()
            _ = try await consent.recordConsent(request, metadata: try fixture.session())
            _ = try await consent.recordConsent(request, metadata: try fixture.namedPerson)
            _ = try await consent.recordConsent(
                request, metadata: try fixture.session("la-admin", roles: ["la-administrator"], org: "org-la"))
            let refused = [
                try fixture.session("p-gp", org: "org-gp"),  // not involved with this child
                try fixture.session("la-other", roles: ["la-administrator"], org: "org-la-2", la: "E08000025"),
                try fixture.session("auditor", roles: ["auditor"], org: "org-school"),
            ]
            for metadata in refused {
                let error = await #expect(throws: RPCError.self) {
                    try await consent.recordConsent(request, metadata: metadata)
                }
                #expect(error?.code == .permissionDenied)
            }
            #expect(try await fixture.changeOutbox().count == 3)
            let audit = try await fixture.auditOutbox()
            #expect(
                audit.filter { $0.outcome == .permitted }.map(\.action)
                    == Array(repeating: "consent/record-consent", count: 3))
            let denied = audit.filter { $0.outcome == .denied }
            #expect(denied.map(\.actor.practitionerID) == ["p-gp", "la-other", "auditor"])
            #expect(denied.allSatisfy { $0.childIds == [ConsentFixture.child] && $0.category == .disclosure })
        }
    }

    @Test(
        """
        an override needs the named-person role and a recent TOTP code; it is audited as a consent override, \
        stepped up, with its justification
        """
    )
    func override() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let request = ConsentFixture.override()
            let notNamed = try fixture.session(steppedUpSecondsAgo: 5)
            let notSteppedUp = try fixture.session(
                "p-named", roles: ["named-person"], org: "org-social-care", steppedUpSecondsAgo: 600)
            for metadata in [notNamed, notSteppedUp] {
                let error = await #expect(throws: RPCError.self) {
                    try await consent.recordOverride(request, metadata: metadata)
                }
                #expect(error?.code == .permissionDenied)
            }
            #expect(
                try await consent.checkConsent(ConsentFixture.check([.sexualHealth])).decisions[0].decision == .denied)
            let recorded = try await consent.recordOverride(request, metadata: try fixture.namedPerson)
            #expect(
                recorded.recordedBy == "p-named" && recorded.recordedByOrganisation == "org-social-care"
                    && !recorded.parentTold)

            let audit = try await fixture.auditOutbox()
            #expect(audit.map(\.outcome) == [.denied, .denied, .permitted])
            #expect(audit.allSatisfy { $0.override == .consent && $0.action == "consent/record-override" })
            let permitted = audit[2]
            #expect(
                permitted.steppedUp && permitted.outcomeReason == "asking-would-increase-risk"
                    && permitted.category == .change)
            #expect(
                permitted.subjectID == "consent-\(recorded.consentID)" && permitted.childIds == [ConsentFixture.child])
            let changes = try await fixture.changeOutbox()
            #expect(
                changes.map(\.change) == ["override-recorded"] && changes[0].scope == [.sexualHealth]
                    && changes[0].organisationID == "org-social-care")

            // Only a named person ends it.
            let error = await #expect(throws: RPCError.self) {
                try await consent.withdraw(.with { $0.consentID = recorded.consentID }, metadata: notNamed)
            }
            #expect(error?.code == .permissionDenied)
            #expect(
                try await consent.withdraw(
                    .with { $0.consentID = recorded.consentID }, metadata: try fixture.namedPerson
                ).status == .withdrawn)
            #expect(try await fixture.changeOutbox().map(\.change) == ["override-recorded", "override-withdrawn"])
        }
    }

    @Test(
        """
        a shielded child's consents name no parent, and name who recorded them only to that organisation; the \
        child's local-authority administrators see them whole
        """
    )
    func shieldedConsents() async throws {
        let fixture = try ConsentFixture()
        fixture.children.update { $0[ConsentFixture.child]?.involved.insert("org-gp") }
        try await fixture.run { consent in
            _ = try await consent.recordConsent(ConsentFixture.parentConsent(), metadata: try fixture.session())
            fixture.shielded.update { $0.insert(ConsentFixture.child) }
            func listed(by session: Metadata) async throws -> Contactpoint_V1_ConsentRecord {
                try #require(
                    try await consent.listConsents(
                        .with {
                            $0.childID = ConsentFixture.child
                            $0.reason = ConsentFixture.reason
                        }, metadata: session
                    ).consents.first)
            }
            let byGP = try await listed(by: try fixture.session("p-gp", org: "org-gp"))
            #expect(!byGP.hasGiverName && byGP.recordedBy.isEmpty && byGP.recordedByOrganisation.isEmpty)
            #expect(byGP.scope == [.sexualHealth] && byGP.status == .active, "what it covers still shows")
            let bySchool = try await listed(by: try fixture.session())
            #expect(!bySchool.hasGiverName && bySchool.recordedByOrganisation == "org-school")
            let byAdministrator = try await listed(
                by: try fixture.session("p-la", roles: ["la-administrator"], org: "org-la"))
            #expect(
                byAdministrator.giverName.family == "Smith" && byAdministrator.recordedByOrganisation == "org-school")
        }
    }

    @Test("reading a child's consents states a reason and is audited as a disclosure; the uninvolved are refused")
    func reading() async throws {
        let fixture = try ConsentFixture()
        try await fixture.run { consent in
            let teacher = try fixture.session()
            _ = try await consent.recordConsent(ConsentFixture.parentConsent(), metadata: teacher)
            let noReason = await #expect(throws: RPCError.self) {
                try await consent.listConsents(.with { $0.childID = ConsentFixture.child }, metadata: teacher)
            }
            #expect(noReason?.code == .invalidArgument && noReason?.message.hasPrefix("reason.code") == true)
            let listed = try await consent.listConsents(
                .with {
                    $0.childID = ConsentFixture.child
                    $0.reason = ConsentFixture.reason
                }, metadata: teacher)
            #expect(listed.consents.count == 1 && listed.consents[0].giverName.family == "Smith")
            let uninvolved = await #expect(throws: RPCError.self) {
                try await consent.listConsents(
                    .with {
                        $0.childID = ConsentFixture.child
                        $0.reason = ConsentFixture.reason
                    }, metadata: try fixture.session("p-gp", org: "org-gp"))
            }
            #expect(uninvolved?.code == .permissionDenied)
            let reads = try await fixture.auditOutbox().filter { $0.action == "consent/list-consents" }
            #expect(reads.map(\.outcome) == [.permitted, .denied])
            #expect(
                reads[0].category == .disclosure && reads[0].reasonCode == "safeguarding-concern"
                    && reads[0].disclosedFields == ["consents"])
        }
    }

    @Test(
        """
        with an involvement, through the index only: the practitioner's organisation need not be involved yet; \
        one service; others refused
        """
    )
    func withInvolvement() async throws {
        let fixture = try ConsentFixture()
        let request = {
            var request = ConsentFixture.parentConsent([.camhs])
            request.withInvolvement = true
            return request
        }()
        let clinic = try fixture.session("p-clinic", org: "org-clinic")
        // Not from a recorder principal: refused, whoever the caller.
        try await fixture.run(checkers: ["index"]) { consent in
            let error = await #expect(throws: RPCError.self) {
                try await consent.recordConsent(request, metadata: clinic)
            }
            #expect(error?.code == .permissionDenied)
        }
        try await fixture.run { consent in
            let recorded = try await consent.recordConsent(request, metadata: clinic)
            #expect(recorded.recordedByOrganisation == "org-clinic" && recorded.scope == [.camhs])
            var two = request
            two.scope = [.camhs, .mentalHealth]
            let error = await #expect(throws: RPCError.self) { try await consent.recordConsent(two, metadata: clinic) }
            #expect(error?.code == .invalidArgument && error?.message.hasPrefix("scope") == true)
            let auditor = await #expect(throws: RPCError.self) {
                try await consent.recordConsent(
                    request, metadata: try fixture.session("a-1", roles: ["auditor"], org: "org-clinic"))
            }
            #expect(auditor?.code == .permissionDenied)
            var unknown = request
            unknown.childID = ConsentFixture.unknownChild
            let missing = await #expect(throws: RPCError.self) {
                try await consent.recordConsent(unknown, metadata: clinic)
            }
            #expect(missing?.code == .notFound)
            // Without it, the same uninvolved practitioner is refused.
            var alone = request
            alone.withInvolvement = false
            let uninvolved = await #expect(throws: RPCError.self) {
                try await consent.recordConsent(alone, metadata: clinic)
            }
            #expect(uninvolved?.code == .permissionDenied)
        }
        #expect(try await fixture.changeOutbox().count == 1)
    }
}
