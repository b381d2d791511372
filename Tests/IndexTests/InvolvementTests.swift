import ConsentClient
import ContactPointAPI
import GRPCCore
import Identifiers
import RecordFields
import ServiceRuntime
import Testing
import Timekeeping

@testable import Index

@Suite("Children and involvements")
struct InvolvementTests {
    @Test("record, raise, lead, clear and end: each change is in the outbox for notification and for audit, in order")
    func changeEvents() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            let teacher = try fixture.session("p-1", org: "org-school")
            let recorded = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: teacher)
            #expect(
                recorded.organisationID == "org-school" && recorded.startDate.count == 10 && recorded.endDate.isEmpty)
            let involvement = recorded.involvementID
            let raised = try await index.setIndicator(
                .with {
                    $0.involvementID = involvement
                    $0.kind = .informationToShare
                    $0.raised = true
                }, metadata: teacher)
            #expect(raised.indicators.map(\.kind) == [.informationToShare] && raised.indicators[0].raisedBy == "p-1")
            _ = try await index.setLeadProfessional(
                .with {
                    $0.involvementID = involvement
                    $0.lead = true
                }, metadata: teacher)
            _ = try await index.setIndicator(
                .with {
                    $0.involvementID = involvement
                    $0.kind = .informationToShare
                    $0.raised = false
                }, metadata: teacher)
            let ended = try await index.endInvolvement(.with { $0.involvementID = involvement }, metadata: teacher)
            #expect(!ended.endDate.isEmpty && !ended.leadProfessional && ended.indicators.isEmpty)

            let changes = try await fixture.changeOutbox()
            #expect(
                changes.map(\.change) == [
                    "involvement-recorded", "indicator-raised", "lead-professional-set", "indicator-cleared",
                    "involvement-ended",
                ])
            #expect(
                changes.allSatisfy {
                    $0.childID == id && $0.involvementID == involvement && $0.organisationID == "org-school"
                        && $0.practitionerID == "p-1"
                })
            #expect(changes[1].indicator == .informationToShare)
            let audit = try await fixture.auditOutbox().filter {
                $0.category == .change && $0.action != "index/put-children"
            }
            #expect(
                audit.map(\.action) == [
                    "index/record-involvement", "index/raise-indicator", "index/set-lead-professional",
                    "index/clear-indicator", "index/end-involvement",
                ])
            #expect(audit.allSatisfy { $0.childIds == [id] && $0.subjectID == "involvement-\(involvement)" })
        }
    }

    @Test(
        """
        another organisation cannot change an involvement, nor record one in another's name: PERMISSION_DENIED, \
        nothing changes
        """
    )
    func ownOrganisationOnly() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            let involvement = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: try fixture.session()
            ).involvementID
            let other = try fixture.session("p-gp", org: "org-gp")
            let before = try await fixture.changeOutbox().count
            var error = await #expect(throws: RPCError.self) {
                try await index.setIndicator(
                    .with {
                        $0.involvementID = involvement
                        $0.kind = .takingAction
                        $0.raised = true
                    }, metadata: other)
            }
            #expect(error?.code == .permissionDenied)
            error = await #expect(throws: RPCError.self) {
                try await index.recordInvolvement(
                    .with {
                        $0.childID = id
                        $0.involvement = IndexFixture.involvement(org: "org-school")
                    }, metadata: other)
            }
            #expect(error?.code == .permissionDenied)
            #expect(try await fixture.changeOutbox().count == before)
            #expect(try await fixture.auditOutbox().suffix(2).allSatisfy { $0.outcome == .denied })
        }
    }

    @Test("bad input is INVALID_ARGUMENT or NOT_FOUND naming the field, and changes nothing")
    func badInput() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            let teacher = try fixture.session()
            let before = try await (fixture.changeOutbox().count, fixture.auditOutbox().count)
            var bad = IndexFixture.involvement()
            bad.contact.telephone = "ring the office"
            var beforeBirth = IndexFixture.involvement()
            beforeBirth.startDate = "2015-03-31"
            let cases: [(Contactpoint_V1_RecordInvolvementRequest, RPCError.Code, String)] = [
                (
                    .with {
                        $0.childID = "1234567890"
                        $0.involvement = IndexFixture.involvement()
                    }, .invalidArgument, "child_id:"
                ),
                (
                    .with {
                        $0.childID = IndexFixture.unknownChild
                        $0.involvement = IndexFixture.involvement()
                    }, .notFound, "child_id:"
                ),
                (
                    .with {
                        $0.childID = id
                        $0.involvement = bad
                    }, .invalidArgument, "involvement.contact.telephone:"
                ),
                // Amelia was born on 2015-04-01
                (
                    .with {
                        $0.childID = id
                        $0.involvement = beforeBirth
                    }, .invalidArgument, "involvement.start_date:"
                ),
            ]
            for (request, code, prefix) in cases {
                let error = await #expect(throws: RPCError.self) {
                    try await index.recordInvolvement(request, metadata: teacher)
                }
                #expect(error?.code == code && error?.message.hasPrefix(prefix) == true, "\(error?.message ?? "")")
            }
            let indicator = await #expect(throws: RPCError.self) {
                try await index.setIndicator(
                    .with {
                        $0.involvementID = "99"
                        $0.kind = .takingAction
                        $0.raised = true
                    }, metadata: teacher)
            }
            #expect(indicator?.code == .notFound)
            #expect(try await (fixture.changeOutbox().count, fixture.auditOutbox().count) == before)
        }
    }

    @Test(
        """
        put: new children get valid random ids; an update replaces the details and the old name no longer finds \
        the child
        """
    )
    func putChildren() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(
                [
                    IndexFixture.child("Amelia", "Smith", born: "2015-04-01"),
                    IndexFixture.child("Noah", "Jones", born: "2016-02-10"),
                ], index)
            #expect(ids.count == 2 && ids.allSatisfy { ContactPointID($0) != nil } && ids[0] != ids[1])
            var renamed = IndexFixture.child("Amelia", "Khan", born: "2015-04-01")
            renamed.child.childID = ids[0]
            let result = try await index.putChildren(
                .with { $0.children = [renamed] }, metadata: try fixture.administrator)
            #expect(result.childIds == [ids[0]] && result.updated == 1 && result.created == 0)
            let practitioner = try fixture.session()
            let old = try await index.searchChildren(
                .with {
                    $0.reason = IndexFixture.reason
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                }, metadata: practitioner)
            #expect(old.matches.isEmpty)
            let new = try await index.searchChildren(
                .with {
                    $0.reason = IndexFixture.reason
                    $0.givenName = "Amelia"
                    $0.familyName = "Khan"
                }, metadata: practitioner)
            #expect(new.matches.map(\.childID) == [ids[0]])
        }
    }

    @Test(
        """
        the index holds children: a new child of 18 or over is refused naming the field, and the batch changes \
        nothing; a feed's such rows are skipped and counted; a child already on the index is updated at any age
        """
    )
    func adults() async throws {
        let fixture = try IndexFixture()
        let today = CalendarDay(inEngland: WallClock.system.now)
        let eighteenToday = today.adding(years: -18).description
        let seventeen = today.adding(years: -18).adding(days: 1).description
        try await fixture.run { index in
            let batch = [
                IndexFixture.child("Ava", "Green", born: seventeen),
                IndexFixture.child("Noah", "Jones", born: eighteenToday),
            ]
            let refused = await #expect(throws: RPCError.self) {
                try await index.putChildren(.with { $0.children = batch }, metadata: try fixture.administrator)
            }
            #expect(refused?.code == .invalidArgument)
            #expect(
                refused?.message
                    == """
                    children[1].child.date_of_birth: a young person of 18 or over (born on or before \
                    \(eighteenToday)) is not added to the index
                    """)
            #expect(
                try await fixture.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM child") }
                    == 0)

            let fed = try await index.putChildren(
                .with {
                    $0.children = batch
                    $0.skipAdults = true
                }, metadata: try fixture.administrator)
            #expect(fed.created == 1 && fed.skippedAdults == 1 && fed.childIds.count == 2 && fed.childIds[1].isEmpty)

            // Ava, on the index, is 18 by her details now: an update, not a new child
            var older = batch[0]
            older.child.childID = fed.childIds[0]
            older.child.dateOfBirth = eighteenToday
            let updated = try await index.putChildren(
                .with { $0.children = [older] }, metadata: try fixture.administrator)
            #expect(updated.updated == 1 && updated.childIds == [fed.childIds[0]])
        }
    }

    @Test("someone born on 29 February turns 18 on 1 March in a year without one")
    func leapDayBirthday() {
        let leapling = "2008-02-29"
        #expect(!IndexStore.AdultRule(today: CalendarDay("2026-02-28")!, skip: false).isAdult(bornOn: leapling))
        #expect(IndexStore.AdultRule(today: CalendarDay("2026-03-01")!, skip: false).isAdult(bornOn: leapling))
        #expect(IndexStore.AdultRule(today: CalendarDay("2026-04-01")!, skip: false).isAdult(bornOn: "2008-04-01"))
        #expect(!IndexStore.AdultRule(today: CalendarDay("2026-03-31")!, skip: false).isAdult(bornOn: "2008-04-01"))
    }

    @Test(
        """
        an authority's administrator changes only its own children; practitioners none; a bad child in a batch \
        changes nothing
        """
    )
    func putAuthorization() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let elsewhere = IndexFixture.child("Noah", "Jones", born: "2016-02-10", la: IndexFixture.otherAuthority)
            var error = await #expect(throws: RPCError.self) {
                try await index.putChildren(.with { $0.children = [elsewhere] }, metadata: try fixture.administrator)
            }
            #expect(error?.code == .permissionDenied)
            error = await #expect(throws: RPCError.self) {
                try await index.putChildren(
                    .with { $0.children = [IndexFixture.child("Noah", "Jones", born: "2016-02-10")] },
                    metadata: try fixture.session())
            }
            #expect(error?.code == .permissionDenied)
            var bad = IndexFixture.child("Noah", "Jones", born: "2016-02-10")
            bad.child.address.postcode = "nowhere"
            error = await #expect(throws: RPCError.self) {
                try await index.putChildren(
                    .with { $0.children = [IndexFixture.child("Ava", "Green", born: "2016-02-10"), bad] },
                    metadata: try fixture.administrator)
            }
            #expect(
                error?.code == .invalidArgument
                    && error?.message.hasPrefix("children[1].child.address.postcode:") == true)
            let national = try fixture.session("sysadmin", roles: ["system-administrator"], org: "org-cp")
            let loaded = try await index.putChildren(.with { $0.children = [elsewhere] }, metadata: national)
            #expect(loaded.created == 1)
            let count = try await fixture.store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM child")
            }
            #expect(count == 1)
        }
    }

    @Test(
        """
        a child's standing, for the consent service: its authority, whether an organisation is involved (ended: \
        no), whether it is shielded, NOT_FOUND if unknown
        """
    )
    func childStanding() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            let involvement = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: try fixture.session()
            ).involvementID
            func standing(_ org: String) async throws -> Contactpoint_V1_ChildStandingResponse {
                try await index.childStanding(
                    .with {
                        $0.childID = id
                        $0.organisationID = org
                    })
            }
            let school = try await standing("org-school")
            #expect(
                school.localAuthority == IndexFixture.authority && school.status == .active
                    && school.organisationInvolved && school.dateOfBirth == "2015-04-01")
            #expect(try await !standing("org-gp").organisationInvolved)
            _ = try await index.endInvolvement(
                .with { $0.involvementID = involvement }, metadata: try fixture.session())
            #expect(try await !standing("org-school").organisationInvolved)
            #expect(try await !standing("org-school").shielded)
            _ = try await index.setShield(
                .with {
                    $0.childID = id
                    $0.shielded = true
                }, metadata: try fixture.administrator)
            #expect(try await standing("org-school").shielded, "the consent service shields what it shows too")
            let unknown = await #expect(throws: RPCError.self) {
                try await index.childStanding(
                    .with {
                        $0.childID = IndexFixture.unknownChild
                        $0.organisationID = "org-school"
                    })
            }
            #expect(unknown?.code == .notFound)
        }
        // Only the configured principals may ask.
        let service = IndexRPCService(
            store: fixture.store,
            disclosures: GroupCommitter(name: "test-disclose", maximumBatch: 1) { $0.map { _ in () } },
            consent: NoConsentService(),
            standingReaders: ["consent"], clock: .fixed(Instant(milliseconds: 0)))
        let context = ServerContext(
            descriptor: Contactpoint_V1_Index.Method.ChildStanding.descriptor, remotePeer: "ops-console",
            localPeer: "index", cancellation: .init())
        let error = await #expect(throws: RPCError.self) {
            try await service.childStanding(
                request: .with {
                    $0.childID = IndexFixture.unknownChild
                    $0.organisationID = "org-school"
                }, context: context)
        }
        #expect(error?.code == .permissionDenied)
    }

    @Test(
        """
        an alerting change event carries the child, the changed involvement and every other involvement not \
        ended, with its recorder
        """
    )
    func changeEventRecipients() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            var entry = IndexFixture.child("Amelia", "Smith", born: "2015-04-01")
            entry.involvements = [
                IndexFixture.involvement(.youthOffendingTeam, org: "org-yot", name: "Westminster YOT")
            ]
            let id = try await fixture.put([entry], index)[0]
            let gp = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement(.gpPractice, name: "Riverside Surgery")
                },
                metadata: try fixture.session("p-gp", org: "org-gp"))
            let ended = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement(.socialCare, name: "Social care")
                },
                metadata: try fixture.session("p-sw", org: "org-sw"))
            _ = try await index.endInvolvement(
                .with { $0.involvementID = ended.involvementID }, metadata: try fixture.session("p-sw", org: "org-sw"))
            for kind in [Contactpoint_V1_IndicatorKind.takingAction, .informationToShare] {
                _ = try await index.setIndicator(
                    .with {
                        $0.involvementID = gp.involvementID
                        $0.kind = kind
                        $0.raised = true
                    }, metadata: try fixture.session("p-gp", org: "org-gp"))
            }
            let school = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: try fixture.session("p-1", org: "org-school"))
            let event = try #require(try await fixture.changeOutbox().last)
            #expect(event.change == "involvement-recorded" && event.involvement.involvementID == school.involvementID)
            #expect(
                event.involvement.contact.name == "Sam Teacher" && event.child.name.family == "Smith"
                    && event.child.postcode == "SW1A 1AA")
            // The feed's involvement (recorder empty: its organisation's inbox) and the GP's; not the ended one.
            #expect(event.recipients.map(\.involvement.organisationID) == ["org-yot", "org-gp"])
            #expect(
                event.recipients.map(\.practitionerID) == ["", "p-gp"]
                    && event.recipients[1].involvement.involvementID == gp.involvementID)
            // Each involvement with its own indicators.
            #expect(
                event.recipients.map { $0.involvement.indicators.map(\.kind) } == [
                    [], [.informationToShare, .takingAction],
                ])
            #expect(event.involvement.indicators.isEmpty)
            let childID = try #require(ContactPointID(id))
            let record = try #require(try await fixture.store.record(ofChild: childID))
            #expect(
                record.involvements.map { $0.indicators.map(\.kind) } == [
                    [], [.informationToShare, .takingAction], [], [],
                ])
            // Ending tells no one: the event carries no recipients.
            #expect(
                try await fixture.changeOutbox().first { $0.change == "involvement-ended" }?.recipients.isEmpty == true)
            // Delivered (acknowledged by the notification service), events leave the outbox.
            let outbox = try await fixture.store.outboxes.undeliveredChanges(
                limit: 100, as: Contactpoint_V1_IndexChangeEvent.self)
            try await fixture.store.outboxes.markChangesDelivered(through: outbox[1].sequence)
            #expect(
                try await fixture.store.outboxes.undeliveredChanges(
                    limit: 100, as: Contactpoint_V1_IndexChangeEvent.self
                ).map(\.sequence)
                    == outbox.dropFirst(2).map(\.sequence))
        }
    }

    @Test("the change forwarder cuts a batch into calls under its byte limit, in order, an oversized event alone")
    func forwarderChunks() throws {
        let events = (0..<7).map { n in
            Contactpoint_V1_IndexChangeEvent.with {
                $0.eventID = "event-\(n)"
                $0.practitionerID = String(repeating: "p", count: n == 3 ? 900 : 90)
            }
        }
        let chunks = try ChangeForwarder.chunks(of: events, maximumBytes: 300)
        #expect(chunks.flatMap { $0 }.map(\.eventID) == events.map(\.eventID))
        #expect(
            chunks.map(\.count) == [2, 1, 1, 2, 1]
                && chunks.allSatisfy { chunk in
                    chunk.count == 1
                        || chunk.reduce(0) { $0 + ((try? $1.serializedBytes() as [UInt8])?.count ?? 0) } <= 300
                })
    }
}
