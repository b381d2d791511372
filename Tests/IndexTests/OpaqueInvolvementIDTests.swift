import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import Testing

@testable import Index

/// Involvement ids do not tell how many involvements the index holds.
@Suite("Involvement ids")
struct OpaqueInvolvementIDTests {
    static func record(
        _ childID: String, org: String, _ index: Contactpoint_V1_Index.Client<some ClientTransport>,
        _ fixture: IndexFixture
    ) async throws -> String {
        try await index.recordInvolvement(
            .with {
                $0.childID = childID
                $0.involvement = IndexFixture.involvement(org: org)
            }, metadata: try fixture.session("p-\(org)", org: org)
        ).involvementID
    }

    @Test("involvements recorded one after another get unrelated ids, each of which names its involvement")
    func unrelatedIDs() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let child = try await fixture.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            var ids: [String] = []
            for org in ["org-a", "org-b", "org-c", "org-d"] {
                ids.append(try await Self.record(child, org: org, index, fixture))
            }
            #expect(ids.allSatisfy { $0.hasPrefix("inv-") && $0.count == 17 }, "\(ids)")
            #expect(Set(ids.map { $0.dropFirst(4).prefix(3) }).count == 4, "\(ids)")
            let viewed = try await index.viewRecord(
                .with {
                    $0.childID = child
                    $0.reason = IndexFixture.reason
                }, metadata: try fixture.session("p-org-a", org: "org-a"))
            #expect(Set(viewed.involvements.map(\.involvementID)) == Set(ids))
            let changes = try await fixture.changeOutbox()
            #expect(changes.map(\.involvementID) == ids, "change events name involvements by the same ids")
            // A number, or an id with a character changed, names no involvement
            for wrong in ["1", "2", ids[0].dropLast() + (ids[0].hasSuffix("0") ? "1" : "0")] {
                let error = await #expect(throws: RPCError.self) {
                    try await index.endInvolvement(
                        .with { $0.involvementID = String(wrong) },
                        metadata: try fixture.session("p-org-a", org: "org-a"))
                }
                #expect(error?.code == .notFound, "\(wrong): \(String(describing: error))")
            }
        }
    }

    @Test("an index made by the previous version keeps the numbers it gave out; new involvements get opaque ids")
    func upgrade() async throws {
        // Given an index of the previous version with two involvements, numbered 1 and 2
        let previous = try IndexFixture()
        let child = try await previous.run { index in
            let child = try await previous.put([IndexFixture.child("Amelia", "Smith", born: "2015-04-01")], index)[0]
            for org in ["org-a", "org-b"] { _ = try await Self.record(child, org: org, index, previous) }
            return child
        }
        try await previous.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TABLE opaque_id_key")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '3: opaque involvement ids'")
            _ = try db.checkpoint(.truncate)
        }
        // When this version opens it
        let fixture = try IndexFixture(copying: "\(previous.directory)/index.sqlite")
        try await fixture.run { index in
            let school = try fixture.session("p-org-a", org: "org-a")
            let viewed = try await index.viewRecord(
                .with {
                    $0.childID = child
                    $0.reason = IndexFixture.reason
                }, metadata: school)
            // Then the involvements keep their numbers, which still work
            #expect(viewed.involvements.map(\.involvementID).sorted() == ["1", "2"])
            let ended = try await index.endInvolvement(.with { $0.involvementID = "1" }, metadata: school)
            #expect(ended.involvementID == "1" && !ended.endDate.isEmpty)
            // and the next one is opaque; its number is no id
            let third = try await Self.record(child, org: "org-c", index, fixture)
            #expect(third.hasPrefix("inv-"))
            let error = await #expect(throws: RPCError.self) {
                try await index.endInvolvement(
                    .with { $0.involvementID = "3" }, metadata: try fixture.session("p-org-c", org: "org-c"))
            }
            #expect(error?.code == .notFound)
        }
    }
}
