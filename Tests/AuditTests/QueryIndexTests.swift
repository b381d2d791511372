import ContactPointAPI
import Foundation
import GRDB
import MerkleTree
import Testing

@testable import Audit

/// The query index file beside the log: built from the events, caught up after a crash,
/// rebuilt when it is not the log's, and checked by verify.
@Suite("Audit query index file", .timeLimit(.minutes(2)))
struct QueryIndexTests {
    /// What the index answers: a child's events, a practitioner's, an organisation's (leaves,
    /// newest first), and the child's subject-access report (how many disclosures).
    struct Answers: Equatable {
        var child: [UInt64]
        var practitioner: [UInt64]
        var organisation: [UInt64]
        var subjectAccess: Int
    }

    static func answers(_ store: AuditStore, child: String, practitioner: String) async throws -> Answers {
        Answers(
            child: try await store.events(matching: .init(childID: child)).map(\.leafIndex),
            practitioner: try await store.events(matching: .init(practitionerID: practitioner)).map(\.leafIndex),
            organisation: try await store.events(matching: .init(organisationID: "org-1")).map(\.leafIndex),
            subjectAccess: try await store.disclosures(ofChild: child).count)
    }

    /// Copies the fixture's log and, if `index`, its query index as they stand now into a new
    /// directory (inside the fixture's, removed with it); returns the directory.
    static func copy(_ fixture: AuditFixture, log: Bool = true, index: Bool = true, into existing: String? = nil)
        async throws -> String
    {
        let directory = existing ?? "\(fixture.directory)/copy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await fixture.store.writer.writeWithoutTransaction { db in
            if log { try db.execute(sql: "VACUUM main INTO ?", arguments: ["\(directory)/audit.sqlite"]) }
            if index { try db.execute(sql: "VACUUM idx INTO ?", arguments: ["\(directory)/audit-index.sqlite"]) }
        }
        return directory
    }

    static func verify(_ directory: String) throws -> AuditVerification {
        try AuditVerifier.verify(
            database: "\(directory)/audit.sqlite", checkpointDirectory: nil,
            publicKey: .init(rawRepresentation: [UInt8](repeating: 7, count: 32)))
    }

    static let child = AuditFixture.child(555_000_000)

    /// Appends views `range` straight to the store: every third of `child`, by practitioners p-0 … p-3.
    static func append(_ range: Range<Int>, to fixture: AuditFixture) async throws {
        try await IndexLayoutTests.append(range, to: fixture) { n, event in
            event.childIds = [n % 3 == 0 ? child : AuditFixture.child(600_000_000 + n)]
            event.actor.practitionerID = "p-\(n % 4)"
        }
    }

    @Test("an index that lost its last commits (a crash, a power loss) lags the log; opening the log catches it up")
    func laggingIndexCaughtUp() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<20, to: fixture)
        let copy = try await Self.copy(fixture, log: false)
        try await Self.append(20..<30, to: fixture)
        // The log at thirty events beside its index at twenty.
        _ = try await Self.copy(fixture, index: false, into: copy)

        let lagging = try Self.verify(copy)
        #expect(lagging.isIntact, "\(lagging.problems)")
        #expect(lagging.indexedEvents == 20 && lagging.unindexedEvents == 10)

        let reopened = try AuditStore.open(path: "\(copy)/audit.sqlite")
        let expected = try await Self.answers(fixture.store, child: Self.child, practitioner: "p-1")
        #expect(try await Self.answers(reopened, child: Self.child, practitioner: "p-1") == expected)
        #expect(expected.child.count == 10 && expected.practitioner.count == 8 && expected.organisation.count == 30)
        let caughtUp = try Self.verify(copy)
        #expect(caughtUp.isIntact && caughtUp.indexedEvents == 30, "\(caughtUp.problems)")
    }

    @Test("a log without its index file, or with an empty one: verify says so, and opening the log builds it")
    func missingIndexBuilt() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<12, to: fixture)
        let copy = try await Self.copy(fixture, index: false)
        let missing = try Self.verify(copy)
        #expect(missing.isIntact && missing.indexedEvents == nil && missing.unindexedEvents == 12)
        // An index file without its tables (the service stopped as it created it) is no index either.
        _ = FileManager.default.createFile(atPath: "\(copy)/audit-index.sqlite", contents: Data())
        let empty = try Self.verify(copy)
        #expect(empty.isIntact && empty.indexedEvents == nil, "\(empty.problems)")
        let reopened = try AuditStore.open(path: "\(copy)/audit.sqlite")
        #expect(
            try await Self.answers(reopened, child: Self.child, practitioner: "p-1")
                == (try await Self.answers(fixture.store, child: Self.child, practitioner: "p-1")))
        #expect(try Self.verify(copy).indexedEvents == 12)
    }

    @Test("the index of another log, or of a longer one restored from an older backup, is rebuilt")
    func foreignIndexRebuilt() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<15, to: fixture)
        let other = try AuditFixture()
        try await Self.append(0..<15, to: other)
        for (name, indexSource) in [("another log's", other), ("a longer one's", fixture)] {
            let copy = try await Self.copy(fixture, index: false)
            if indexSource === fixture { try await Self.append(15..<18, to: fixture) }
            _ = try await Self.copy(indexSource, log: false, into: copy)
            let foreign = try Self.verify(copy)
            #expect(foreign.problems.contains { $0.contains("not this log's") }, "\(name): \(foreign.problems)")
            let reopened = try AuditStore.open(path: "\(copy)/audit.sqlite")
            let rebuilt = try Self.verify(copy)
            #expect(rebuilt.isIntact && rebuilt.indexedEvents == 15, "\(name): \(rebuilt.problems)")
            #expect(
                try await reopened.events(matching: .init(childID: Self.child)).map(\.leafIndex) == [12, 9, 6, 3, 0])
        }
    }

    @Test("an index left short by another instance's crash is caught up by the next append, not skipped")
    func shortIndexCaughtUpByAppend() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<10, to: fixture)
        try await VerifyTests.tamper(
            fixture,
            """
            DELETE FROM event_actor WHERE leaf_index >= 7; DELETE FROM event_child WHERE leaf_index >= 7;
            UPDATE indexed SET size = 7, last_leaf_hash = (SELECT leaf_hash FROM event WHERE leaf_index = 6);
            """)
        #expect(try Self.verify(fixture.directory).unindexedEvents == 3)
        try await Self.append(10..<12, to: fixture)
        let report = try Self.verify(fixture.directory)
        #expect(report.isIntact && report.indexedEvents == 12, "\(report.problems)")
        #expect(try await fixture.store.events(matching: .init(childID: Self.child)).map(\.leafIndex) == [9, 6, 3, 0])
    }

    @Test(
        """
        an index of the earlier layout (actor rows not in buckets) is not checked by verify, and is rebuilt when \
        the log opens
        """
    )
    func earlierLayoutRebuilt() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<20, to: fixture)
        let copy = try await Self.copy(fixture)
        let index = try DatabaseQueue(path: "\(copy)/audit-index.sqlite")
        try await index.write { db in
            try db.execute(
                sql: """
                    DROP TABLE event_actor;
                    CREATE TABLE event_actor (
                        organisation_id TEXT NOT NULL, practitioner_id TEXT NOT NULL, occurred_at INTEGER NOT NULL,
                        category INTEGER NOT NULL, outcome INTEGER NOT NULL, leaf_index INTEGER NOT NULL,
                        PRIMARY KEY (organisation_id, practitioner_id, occurred_at, category, outcome, leaf_index)
                    ) STRICT, WITHOUT ROWID;
                    PRAGMA user_version = 1;
                    """)
        }
        try index.close()
        let earlier = try Self.verify(copy)
        #expect(
            earlier.isIntact && earlier.indexedEvents == nil && earlier.unindexedEvents == 20, "\(earlier.problems)")
        let reopened = try AuditStore.open(path: "\(copy)/audit.sqlite")
        #expect(
            try await Self.answers(reopened, child: Self.child, practitioner: "p-1")
                == (try await Self.answers(fixture.store, child: Self.child, practitioner: "p-1")))
        let rebuilt = try Self.verify(copy)
        #expect(rebuilt.isIntact && rebuilt.indexedEvents == 20, "\(rebuilt.problems)")
    }
}
