import ContactPointAPI
import Foundation
import GRDB
import MerkleTree
import Testing

@testable import Audit

/// The log's query indexes as laid out for appends at scale: the child index in buckets of
/// consecutive leaves, one index for organisations and practitioners, both in the index file.
@Suite("Audit index layout", .timeLimit(.minutes(2)))
struct IndexLayoutTests {
    /// Appends events `range` straight to the store, in transactions of 4,096; `configure` shapes event `n`.
    static func append(
        _ range: Range<Int>, to fixture: AuditFixture, configure: (Int, inout Contactpoint_V1_AuditEvent) -> Void
    ) async throws {
        var frontier: MerkleFrontier?
        var activity: RecentActivity?
        for start in stride(from: range.lowerBound, to: range.upperBound, by: 4096) {
            let events = (start..<min(start + 4096, range.upperBound)).map { n in
                var event = fixture.view(child: AuditFixture.child(1_000_000 + n % 5000), by: "p-\(n % 40)")
                configure(n, &event)
                return event
            }
            (_, frontier, activity) = try fixture.store.append(
                [.init(events: events, sender: "index")], loggedAt: fixture.clock, rules: MisuseRules(),
                frontier: frontier,
                activity: activity)
        }
    }

    @Test(
        "a child's events in three buckets are all found, newest first, paged; subject access lists them oldest first")
    func childAcrossBuckets() async throws {
        let fixture = try AuditFixture()
        let child = AuditFixture.child(777_000_000)
        let leaves: [Int64] = [3, 65_535, 65_536, 140_000]
        let (disclosure, permitted) = (
            Contactpoint_V1_AuditCategory.disclosure.rawValue, Contactpoint_V1_AuditOutcome.permitted.rawValue
        )
        // 140,001 rows written directly (appending them one by one takes most of a minute in a
        // debug build); only the child's events carry an encoding, the others are never read.
        try await fixture.store.writer.write { db in
            for leaf in leaves {
                let logged = Contactpoint_V1_LoggedEvent.with {
                    $0.leafIndex = UInt64(leaf)
                    $0.event = fixture.view(child: child)
                }
                try db.execute(
                    sql: """
                        INSERT INTO event VALUES (?, ?, ?, zeroblob(32), 0, 0, 'index/view-record', ?, 'p-1', \
                        'org-1', 'E09000033', 'E09000033', ?, 0, 0)
                        """,
                    arguments: [
                        leaf, logged.event.eventID, Data(try logged.serializedBytes() as [UInt8]), disclosure,
                        permitted,
                    ])
                try db.execute(
                    sql: "INSERT INTO event_child (bucket, child_id, leaf_index) VALUES (?, ?, ?)",
                    arguments: [AuditStore.bucket(of: UInt64(leaf)), child, leaf])
            }
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 140000)
                    INSERT OR IGNORE INTO event SELECT i, 'e-' || i, x'', zeroblob(32), 0, 0, 'index/view-record', ?, \
                    'p-1', 'org-1',
                        'E09000033', 'E09000033', ?, 0, 0 FROM n
                    """,
                arguments: [disclosure, permitted])
        }
        #expect(AuditStore.bucket(of: 140_000) == 2)
        let all = try await fixture.store.events(matching: .init(childID: child))
        #expect(all.map(\.leafIndex) == [140_000, 65_536, 65_535, 3])
        let page = try await fixture.store.events(matching: .init(childID: child, beforeLeaf: 65_536, limit: 1))
        #expect(page.map(\.leafIndex) == [65_535], "a page starts in the bucket of the leaf before the token")
        #expect(try await fixture.store.events(matching: .init(childID: child, beforeLeaf: 3)).isEmpty)
        #expect(try await fixture.store.disclosures(ofChild: child).count == 4)
        #expect(try await fixture.store.events(matching: .init(childID: AuditFixture.child(999_999_999))).isEmpty)
    }

    @Test("a practitioner who moved organisation is found in both, and by organisation in each")
    func practitionerInTwoOrganisations() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<20, to: fixture) { n, event in
            event.actor.practitionerID = n < 15 ? "p-mover" : event.actor.practitionerID
            event.actor.organisationID = n < 10 ? "org-school" : "org-trust"
        }
        let found = try await fixture.store.events(matching: .init(practitionerID: "p-mover"))
        #expect(found.map(\.leafIndex) == Array((0..<15).reversed()))
        let atTrust = try await fixture.store.events(
            matching: .init(practitionerID: "p-mover", organisationID: "org-trust"))
        #expect(atTrust.map(\.leafIndex) == [14, 13, 12, 11, 10])
        #expect(try await fixture.store.events(matching: .init(organisationID: "org-school")).count == 10)
    }

    @Test(
        "a log of an earlier layout is migrated: verify finds it intact and every query answers as before",
        arguments: [1, 2])
    func migrationFromEarlierLayout(layout: Int) async throws {
        let fixture = try AuditFixture()
        let child = AuditFixture.child(888_000_000)
        try await fixture.run { _ in
            for n in 0..<30 {
                var event = fixture.view(by: n % 2 == 0 ? "p-even" : "p-odd")
                if n % 7 == 0 { event.childIds = [child] }
                if n >= 20 { event.actor.organisationID = "org-2" }
                _ = try await fixture.log.append([event], sender: AuditFixture.sender)
            }
            _ = await fixture.signer.signIfGrown()
        }
        let before = try await QueryIndexTests.answers(fixture.store, child: child, practitioner: "p-even")
        #expect(before.child == [28, 21, 14, 7, 0])
        // The log file as that layout kept it: its indexes inside, no index file beside it.
        let earlier =
            layout == 1
            ? """
            CREATE INDEX main.event_by_practitioner ON event(practitioner_id, occurred_at);
            CREATE INDEX main.event_by_organisation ON event(organisation_id, occurred_at);
            CREATE TABLE main.event_child (
                child_id TEXT NOT NULL,
                leaf_index INTEGER NOT NULL REFERENCES event(leaf_index),
                PRIMARY KEY (child_id, leaf_index)
            ) STRICT, WITHOUT ROWID;
            INSERT INTO main.event_child SELECT child_id, leaf_index FROM idx.event_child;
            DELETE FROM grdb_migrations WHERE identifier LIKE '2:%' OR identifier LIKE '3:%';
            """
            : """
            CREATE INDEX main.event_by_actor ON event(organisation_id, practitioner_id, occurred_at, category, outcome);
            CREATE TABLE main.practitioner_organisation (
                practitioner_id TEXT NOT NULL,
                organisation_id TEXT NOT NULL,
                PRIMARY KEY (practitioner_id, organisation_id)
            ) STRICT, WITHOUT ROWID;
            INSERT INTO main.practitioner_organisation SELECT * FROM idx.practitioner_organisation;
            CREATE TABLE main.event_child (
                bucket INTEGER NOT NULL,
                child_id TEXT NOT NULL,
                leaf_index INTEGER NOT NULL REFERENCES event(leaf_index),
                PRIMARY KEY (bucket, child_id, leaf_index)
            ) STRICT, WITHOUT ROWID;
            INSERT INTO main.event_child SELECT * FROM idx.event_child;
            DELETE FROM grdb_migrations WHERE identifier LIKE '3:%';
            """
        try await fixture.store.writer.writeWithoutTransaction { db in try db.execute(sql: earlier) }
        let upgraded = try await QueryIndexTests.copy(fixture, index: false)
        let migrated = try AuditStore.open(path: "\(upgraded)/audit.sqlite")
        #expect(try await QueryIndexTests.answers(migrated, child: child, practitioner: "p-even") == before)
        let report = try AuditVerifier.verify(
            database: "\(upgraded)/audit.sqlite", checkpointDirectory: "\(fixture.directory)/checkpoints",
            publicKey: fixture.signer.key.privateKey.publicKey)
        #expect(report.isIntact && report.indexedEvents == 30, "\(report.problems)")
        let tables = try await migrated.writer.read { db in
            try String.fetchAll(
                db,
                sql:
                    """
                    SELECT name FROM main.sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE \
                    'sqlite_%' ORDER BY name
                    """
            )
        }
        #expect(
            !tables.contains("event_child") && !tables.contains("event_by_actor")
                && !tables.contains("practitioner_organisation"))
    }

    @Test(
        "a late event's count from the actor rows reaches down to the first bucket logged in its window, and no further"
    )
    func lateCountAcrossBuckets() async throws {
        let fixture = try AuditFixture()
        let (nine, noon) = (AuditFixture.mondayNoon - 3 * 3_600_000, AuditFixture.mondayNoon)
        let (disclosure, permitted) = (
            Contactpoint_V1_AuditCategory.disclosure.rawValue, Contactpoint_V1_AuditOutcome.permitted.rawValue
        )
        // 70,000 rows written directly: bucket 0 and the first leaves of bucket 1 (to 65,999)
        // logged at nine, the rest at noon; p-9 disclosed 100 times in the five minutes from nine, once at noon.
        try await fixture.store.writer.write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 69999)
                    INSERT INTO event SELECT i, 'e-' || i, x'', zeroblob(32), ?, CASE WHEN i < 66000 THEN ? ELSE ? END,
                        'index/view-record', ?, 'p-1', 'org-1', 'E09000033', 'E09000033', ?, 0, 0 FROM n
                    """,
                arguments: [nine, nine, noon, disclosure, permitted])
            for (leaf, occurred) in (0..<100).map({ (1000 + $0, nine + Int64($0) * 3_000) }) + [(69_000, noon)] {
                try db.execute(
                    sql: "INSERT INTO event_actor VALUES (?, 'org-1', 'p-9', ?, ?, ?, ?)",
                    arguments: [AuditStore.bucket(of: UInt64(leaf)), occurred, disclosure, permitted, leaf])
            }
        }
        let (firstLeaves, counts) = try await fixture.store.writer.read { db in
            (
                try [nine - 60_000, nine + 1, noon + 1].map {
                    try AuditStore.firstLeaf(loggedSince: $0, below: 70_000, db)
                },
                // Half past eight: all logged from nine on, in both buckets; eleven: bucket 1 alone.
                try [nine - 1_800_000, nine + 150_000, noon - 3_600_000].map { since in
                    try AuditStore.indexedCount(
                        .disclosures, organisation: "org-1", practitioner: "p-9", after: since, size: 70_000, db)
                }
            )
        }
        #expect(firstLeaves == [0, 66_000, 69_999])
        #expect(counts == [101, 50, 1])
    }

    @Test("proofs made with the upper nodes from memory are those of the stored tree, and verify")
    func upperNodesFromMemory() async throws {
        let fixture = try AuditFixture()
        try await Self.append(0..<5000, to: fixture) { _, _ in }
        // Opened anew: the nodes of levels 10 and up are loaded (four of level 10, two of 11, one of 12).
        let store = try AuditStore.open(path: "\(fixture.directory)/audit.sqlite")
        #expect(store.upperNodes.hash(at: AuditStore.nodePosition(level: 12, index: 0)) != nil)
        #expect(store.upperNodes.hash(at: AuditStore.nodePosition(level: 9, index: 0)) == nil)
        let mismatches = try await store.writer.read { db in
            let stored = AuditStore.StoredTree(db: db)
            let held = AuditStore.StoredTree(db: db, upper: store.upperNodes)
            var mismatches: [String] = []
            for size: UInt64 in [1024, 1025, 3000, 4096, 5000] {
                let root = try stored.rootHash(to: size)
                if try held.rootHash(to: size) != root { mismatches.append("root at \(size)") }
                for leaf in [0, 1023, 1024, 2047, 2500, size - 1] where leaf < size {
                    let path = try held.inclusionProof(leaf: leaf, size: size)
                    let leafHash = try stored.subtreeHash(level: 0, index: leaf)
                    let storedPath = try stored.inclusionProof(leaf: leaf, size: size)
                    if path != storedPath
                        || !MerkleVerification.isValidInclusion(
                            leafHash: leafHash, leaf: leaf, size: size, proof: path, root: root)
                    {
                        mismatches.append("inclusion of \(leaf) at \(size)")
                    }
                }
                for first: UInt64 in [1, 1000, 1024, 2049] where first < size {
                    let proof = try held.consistencyProof(first: first, second: size)
                    let firstRoot = try stored.rootHash(to: first)
                    if proof != (try stored.consistencyProof(first: first, second: size))
                        || !MerkleVerification.isValidConsistency(
                            first: first, firstRoot: firstRoot, second: size, secondRoot: root, proof: proof)
                    {
                        mismatches.append("consistency \(first) to \(size)")
                    }
                }
            }
            return mismatches
        }
        #expect(mismatches.isEmpty)
    }
}
