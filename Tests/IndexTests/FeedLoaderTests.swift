import ContactPointAPI
import Foundation
import GRPCCore
import Identifiers
import Testing
import Timekeeping

@testable import Index

@Suite("Feed loader")
struct FeedLoaderTests {
    @Test(
        """
        a bad child is named by its place in the feed and nothing of its batch is stored; good batches are, with \
        one audit event each
        """
    )
    func batches() async throws {
        let fixture = try IndexFixture()
        let loader = try FeedLoader(database: "\(fixture.directory)/index.sqlite", operatorName: "operator:test")
        var generator = PopulationGenerator(seed: 3)
        let first = (0..<10).map { _ in generator.next() }
        let loaded = try await loader.store(try loader.validate(first, offset: 0))
        #expect(loaded.created == 10 && loaded.childIDs.count == 10)

        var second = (0..<10).map { _ in generator.next() }
        second[4].child.address.postcode = "NOWHERE"
        let error = #expect(throws: RPCError.self) { try loader.validate(second, offset: 10) }
        #expect(error?.message.hasPrefix("children[14].child.address.postcode:") == true, "\(error?.message ?? "")")

        let count = try await fixture.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM child")
        }
        #expect(count == 10)
        let events = try await fixture.auditOutbox()
        #expect(
            events.map(\.action) == ["index/load-feed"] && events[0].actor.practitionerID == "operator:test"
                && events[0].childIds.count == 10)

        // A pupil of 18 or over in a feed is skipped and counted, not an error
        var third = (0..<3).map { _ in generator.next() }
        third[1].child.dateOfBirth = CalendarDay(inEngland: WallClock.system.now).adding(years: -19).description
        let skipping = try await loader.store(try loader.validate(third, offset: 20))
        #expect(skipping.created == 2 && skipping.skippedAdults == 1 && skipping.childIDs[1].isEmpty)
        let audited = try #require(try await fixture.auditOutbox().last)
        #expect(audited.childIds == [skipping.childIDs[0], skipping.childIDs[2]], "the skipped row names no child")
    }
}

@Suite("Initial load")
struct InitialLoadTests {
    func keyCounts(_ store: IndexStore) async throws -> (keys: Int, staged: Int?) {
        try await store.writer.read { db in
            let keys = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM search_key") ?? 0
            let staged =
                try db.tableExists(IndexStore.stagingTable)
                ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(IndexStore.stagingTable)") : nil
            return (keys, staged)
        }
    }

    @Test("search keys are staged during an initial load and indexed at its end; then search finds the children")
    func stagedThenIndexed() async throws {
        let fixture = try IndexFixture()
        let loader = try FeedLoader(database: "\(fixture.directory)/index.sqlite", operatorName: "operator:test")
        try await loader.beginInitialLoad()
        var generator = PopulationGenerator(seed: 11)
        let entries = (0..<200).map { _ in generator.next() }
        let ids = try await loader.store(try loader.validate(entries, offset: 0)).childIDs
        let during = try await keyCounts(fixture.store)
        #expect(during.keys == 0 && (during.staged ?? 0) >= 200)
        // An initial load issues the IDs: a feed that gives one is refused, naming the child.
        var again = entries[0]
        again.child.childID = ids[0]
        let error = #expect(throws: RPCError.self) { try loader.validate([entries[1], again], offset: 200) }
        #expect(error?.code == .invalidArgument && error?.message.hasPrefix("children[201].child.child_id:") == true)
        #expect(Set(ids).count == 200 && ids.allSatisfy { ContactPointID($0) != nil })

        try await loader.finishInitialLoad()
        // Everything is in the database file: the write-ahead log is empty.
        #expect(
            try FileManager.default.attributesOfItem(atPath: "\(fixture.directory)/index.sqlite-wal")[.size] as? Int
                == 0)
        let indexes = try await fixture.store.writer.read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        #expect(indexes.isSuperset(of: ["child_by_id", "child_by_birth"]))
        let after = try await keyCounts(fixture.store)
        #expect(after.keys == during.staged && after.staged == nil)
        try await fixture.run { index in
            let child = entries[5].child
            let found = try await index.searchChildren(
                .with {
                    $0.reason = IndexFixture.reason
                    $0.givenName = child.name.given
                    $0.familyName = child.name.family
                    $0.dateOfBirth = child.dateOfBirth
                }, metadata: try fixture.session())
            #expect(found.matches.first?.childID == ids[5])
        }
        // Only into an empty index.
        let refused = await #expect(throws: RPCError.self) { try await loader.beginInitialLoad() }
        #expect(refused?.code == .failedPrecondition)
    }

    @Test("an initial load interrupted before its end is finished when the database is next opened")
    func interrupted() async throws {
        let fixture = try IndexFixture()
        let path = "\(fixture.directory)/index.sqlite"
        let loader = try FeedLoader(database: path, operatorName: "operator:test")
        try await loader.beginInitialLoad()
        var generator = PopulationGenerator(seed: 12)
        _ = try await loader.store(try loader.validate((0..<50).map { _ in generator.next() }, offset: 0))
        let staged = try await keyCounts(fixture.store).staged
        let reopened = try IndexStore.open(path: path)
        #expect(try FileManager.default.attributesOfItem(atPath: "\(path)-wal")[.size] as? Int == 0)
        let after = try await keyCounts(reopened)
        #expect(after.keys == staged && after.staged == nil)
    }
}

@Suite("Feed loader audit events")
struct FeedLoaderAuditTests {
    @Test(
        """
        a batch larger than the audit log takes per event (1,000 children) is recorded as several events, none \
        over the limit
        """
    )
    func largeBatch() async throws {
        let fixture = try IndexFixture()
        let loader = try FeedLoader(database: "\(fixture.directory)/index.sqlite", operatorName: "operator:test")
        var generator = PopulationGenerator(seed: 4)
        let loaded = try await loader.store(try loader.validate((0..<2500).map { _ in generator.next() }, offset: 0))
        let events = try await fixture.auditOutbox()
        #expect(events.map(\.childIds.count) == [1000, 1000, 500])
        #expect(Set(events.map(\.eventID)).count == 3)
        #expect(events.flatMap(\.childIds) == loaded.childIDs)
    }
}

@Suite("Initial load IDs")
struct InitialLoadIDsTests {
    @Test("IDs issued for an initial load are valid, never repeat, and do not follow each other in order")
    func permutation() {
        var ids = InitialLoadIDs(keys: [1, 2, 3, 4])
        let issued = (0..<200_000).map { _ in ids.next() }
        #expect(Set(issued).count == issued.count)
        #expect(issued.allSatisfy { ContactPointID(IndexStore.childID($0)) != nil && $0 >= 1_000_000_000 })
        let ascending = zip(issued, issued.dropFirst()).filter { $0 < $1 }.count
        #expect((80_000...120_000).contains(ascending), "about half of consecutive IDs ascend: \(ascending)")
        var same = InitialLoadIDs(keys: [1, 2, 3, 4])
        var other = InitialLoadIDs(keys: [5, 6, 7, 8])
        #expect((0..<100).map { _ in same.next() } == Array(issued.prefix(100)))
        #expect((0..<100).map { _ in other.next() } != Array(issued.prefix(100)))
    }
}
