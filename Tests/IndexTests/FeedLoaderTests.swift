import ContactPointAPI
import GRPCCore
@testable import Index
import Testing

@Suite("Feed loader")
struct FeedLoaderTests {
    @Test("a bad child is named by its place in the feed and nothing of its batch is stored; good batches are, with one audit event each")
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

        let count = try await fixture.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM child") }
        #expect(count == 10)
        let events = try await fixture.auditOutbox()
        #expect(events.map(\.action) == ["index/load-feed"] && events[0].actor.practitionerID == "operator:test" && events[0].childIds.count == 10)
    }
}
