import ContactPointAPI
import GRDB
import GRPCCore
import Testing

@testable import Index

/// A client retrying a write after a lost reply sends the same `idempotency-key`: the write is
/// applied once and every retry is answered with the first result (docs/PROTOCOL.md §7).
@Suite("Idempotent writes")
struct IdempotencyTests {
    static func keyed(_ metadata: Metadata, _ key: String) -> Metadata {
        var metadata = metadata
        metadata.addString(key, forKey: "idempotency-key")
        return metadata
    }

    @Test(
        """
        the same RecordInvolvement sent twice with one key makes one involvement and one change event (one round of \
        alerts); the second answer is the first
        """
    )
    func recordInvolvementOnce() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([DisclosureTests.amelia], index)[0]
            let request = Contactpoint_V1_RecordInvolvementRequest.with {
                $0.childID = id
                $0.involvement = IndexFixture.involvement()
            }
            let teacher = Self.keyed(try fixture.session(), "2f1c6a0e-retry-1")
            let first = try await index.recordInvolvement(request, metadata: teacher)
            let retried = try await index.recordInvolvement(request, metadata: teacher)
            #expect(retried == first)
            let changes = try await fixture.changeOutbox().filter { $0.change == "involvement-recorded" }
            #expect(changes.map(\.involvementID) == [first.involvementID])
            // Without a key the same request is a second write, as before.
            let unkeyed = try await index.recordInvolvement(request, metadata: try fixture.session())
            #expect(unkeyed.involvementID != first.involvementID)
        }
    }

    @Test("a raised indicator retried with its key is answered as the first raise, with one change event")
    func indicatorOnce() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([DisclosureTests.amelia], index)[0]
            let involvement = try await index.recordInvolvement(
                .with {
                    $0.childID = id
                    $0.involvement = IndexFixture.involvement()
                }, metadata: try fixture.session())
            let raise = Contactpoint_V1_SetIndicatorRequest.with {
                $0.involvementID = involvement.involvementID
                $0.kind = .informationToShare
                $0.raised = true
            }
            let teacher = Self.keyed(try fixture.session(), "raise-1")
            let first = try await index.setIndicator(raise, metadata: teacher)
            #expect(try await index.setIndicator(raise, metadata: teacher) == first)
            let raised = try await fixture.changeOutbox().filter { $0.change == "indicator-raised" }
            #expect(raised.count == 1)
        }
    }

    @Test(
        """
        a key reused for a different write, a malformed key and a key on a method that takes none are \
        INVALID_ARGUMENT and change nothing; keys of different practitioners never meet
        """
    )
    func refusals() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let id = try await fixture.put([DisclosureTests.amelia], index)[0]
            let school = Contactpoint_V1_RecordInvolvementRequest.with {
                $0.childID = id
                $0.involvement = IndexFixture.involvement()
            }
            var other = school
            other.involvement.contact.name = "Another Teacher"
            let teacher = Self.keyed(try fixture.session(), "k-1")
            _ = try await index.recordInvolvement(school, metadata: teacher)
            let recorded = try await fixture.changeOutbox().count
            for (request, metadata) in [
                (other, teacher), (school, Self.keyed(try fixture.session(), "not a key!")),
                (school, Self.keyed(try fixture.session(), String(repeating: "k", count: 65))),
            ] {
                let error = await #expect(throws: RPCError.self) {
                    try await index.recordInvolvement(request, metadata: metadata)
                }
                #expect(error?.code == .invalidArgument && error?.message.hasPrefix("idempotency-key") == true)
            }
            let search = await #expect(throws: RPCError.self) {
                try await index.searchChildren(
                    .with {
                        $0.familyName = "Smith"
                        $0.reason = IndexFixture.reason
                    }, metadata: teacher)
            }
            #expect(search?.code == .invalidArgument)
            #expect(try await fixture.changeOutbox().count == recorded)
            // The same key from another practitioner of the school is their own write.
            let colleague = Self.keyed(try fixture.session("p-2"), "k-1")
            let theirs = try await index.recordInvolvement(school, metadata: colleague)
            #expect(try await fixture.changeOutbox().count == recorded + 1 && !theirs.involvementID.isEmpty)
        }
    }

    @Test("an index made by the previous version gains the table of idempotent writes and keeps its children")
    func upgrade() async throws {
        let fixture = try IndexFixture()
        let path = "\(fixture.directory)/previous.sqlite"
        do {
            let queue = try DatabaseQueue(path: path)
            try IndexStore.migrator.migrate(queue, upTo: "1: children, involvements, outboxes")
            let hadTable = try await queue.write { db in
                try db.execute(sql: "INSERT INTO audit_outbox (event) VALUES (x'')")
                return try db.tableExists("idempotent_write")
            }
            #expect(!hadTable)
        }
        let store = try IndexStore.open(path: path)
        let (hasTable, waiting) = try await store.writer.read { db in
            (try db.tableExists("idempotent_write"), try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_outbox"))
        }
        #expect(hasTable && waiting == 1)
    }
}
