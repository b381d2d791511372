import ContactPointAPI
import Foundation
import GRDB
import MerkleTree
import Testing

@testable import Audit

/// `contactpoint audit verify` against a log someone with the database file has changed: the
/// operator bypasses the append-only triggers, as anyone with write access to the file could.
@Suite("Audit verify: tampering is detected", .timeLimit(.minutes(1)))
struct VerifyTests {
    /// A log of 30 events under two signed heads (20 and 30), children on every event.
    static func signedLog() async throws -> AuditFixture {
        let fixture = try AuditFixture()
        try await fixture.run { audit in
            for size in [20, 10] {
                _ = try await audit.append(
                    .with { $0.events = (0..<size).map { fixture.view(child: AuditFixture.child(100 + $0)) } })
                fixture.advance(by: 1000)
                _ = await fixture.signer.signIfGrown()
            }
        }
        return fixture
    }

    static func verify(_ fixture: AuditFixture) throws -> AuditVerification {
        try AuditVerifier.verify(
            database: "\(fixture.directory)/audit.sqlite", checkpointDirectory: "\(fixture.directory)/checkpoints",
            publicKey: fixture.signer.key.privateKey.publicKey)
    }

    /// Runs SQL as an operator would, with foreign keys off and the append-only triggers (of the
    /// log and of its query index) dropped first.
    static func tamper(_ fixture: AuditFixture, _ sql: String, _ arguments: StatementArguments = []) async throws {
        try await fixture.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            for name in try String.fetchAll(
                db,
                sql: """
                    SELECT 'main.' || name FROM main.sqlite_master WHERE type = 'trigger'
                    UNION ALL SELECT 'idx.' || name FROM idx.sqlite_master WHERE type = 'trigger'
                    """)
            {
                try db.execute(sql: "DROP TRIGGER \(name)")
            }
            try db.execute(sql: sql, arguments: arguments)
        }
    }

    @Test("an untouched log verifies: 30 events, two heads in the database and as checkpoints")
    func intact() async throws {
        let report = try Self.verify(try await Self.signedLog())
        #expect(report.isIntact, "\(report.problems)")
        #expect(
            report.events == 30 && report.databaseHeads == 2 && report.checkpointFiles == 2
                && report.unsignedEvents == 0)
        #expect(report.indexedEvents == 30 && report.unindexedEvents == 0)
    }

    @Test("changing an event (its encoding and leaf hash made to agree) breaks the signed roots")
    func alteredEvent() async throws {
        let fixture = try await Self.signedLog()
        let row = try fixture.store.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT encoded FROM event WHERE leaf_index = 7")!
        }
        var logged = try Contactpoint_V1_LoggedEvent(serializedBytes: row["encoded"] as Data)
        logged.event.reasonCode = "something-else"
        let encoded: [UInt8] = try logged.serializedBytes()
        try await Self.tamper(
            fixture, "UPDATE event SET encoded = ?, leaf_hash = ? WHERE leaf_index = 7",
            [Data(encoded), Data(MerkleHash.leaf(encoded))])
        let report = try Self.verify(fixture)
        #expect(!report.isIntact)
        #expect(report.problems.contains { $0.contains("root differs") })
    }

    @Test("each other kind of tampering is named")
    func otherTampering() async throws {
        let cases: [(sql: String, expected: String)] = [
            ("UPDATE event SET practitioner_id = 'someone-else' WHERE leaf_index = 3", "query columns differ"),
            ("DELETE FROM event WHERE leaf_index = 12", "rows removed or inserted"),
            ("DELETE FROM event WHERE leaf_index >= 25", "events removed"),
            ("UPDATE event SET leaf_index = leaf_index + 100 WHERE leaf_index IN (4, 5)", "rows removed or inserted"),
            (
                "UPDATE tree_node SET hash = zeroblob(32) WHERE position = (SELECT MIN(position) FROM tree_node)",
                "stored tree node"
            ),
            ("DELETE FROM tree_head WHERE size = 20", "has no tree head in the database"),
            ("UPDATE tree_head SET timestamp_ms = timestamp_ms + 1 WHERE size = 30", "bad signature"),
            ("DELETE FROM event_child WHERE leaf_index = 9", "child rows differ"),
            ("INSERT INTO event_child (bucket, child_id, leaf_index) VALUES (0, '9434765919', 3)", "rows added"),
            ("UPDATE event_child SET bucket = 1 WHERE leaf_index = 9", "child rows differ"),
            ("DELETE FROM practitioner_organisation", "not listed under its organisation"),
            ("DELETE FROM event_actor WHERE leaf_index = 4", "actor row differs"),
            ("UPDATE event_actor SET practitioner_id = 'someone-else' WHERE leaf_index = 4", "actor row differs"),
            ("INSERT INTO event_actor VALUES (0, 'org-1', 'p-1', 0, 1, 1, 3)", "rows added"),
            ("UPDATE indexed SET size = 31", "not this log's"),
            ("UPDATE event SET leaf_hash = zeroblob(32) WHERE leaf_index = 2", "stored leaf hash differs"),
        ]
        for (sql, expected) in cases {
            let fixture = try await Self.signedLog()
            try await Self.tamper(fixture, sql)
            let report = try Self.verify(fixture)
            #expect(report.problems.contains { $0.contains(expected) }, "\(sql): \(report.problems)")
        }
    }

    @Test("swapping two events' places is caught: each encoding carries its own leaf index")
    func reordered() async throws {
        let fixture = try await Self.signedLog()
        try await Self.tamper(
            fixture,
            """
            UPDATE event SET leaf_index = 1000000 WHERE leaf_index = 5;
            UPDATE event SET leaf_index = 5 WHERE leaf_index = 6;
            UPDATE event SET leaf_index = 6 WHERE leaf_index = 1000000;
            """)
        let report = try Self.verify(fixture)
        #expect(report.problems.contains { $0.contains("its encoding says leaf") }, "\(report.problems)")
        #expect(report.problems.contains { $0.contains("root differs") })
    }

    @Test("a checkpoint file altered or forged is reported")
    func forgedCheckpoint() async throws {
        let fixture = try await Self.signedLog()
        let path = "\(fixture.directory)/checkpoints/\(String(format: "%020d", 20)).checkpoint"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\n20\n", with: "\n21\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let report = try Self.verify(fixture)
        #expect(!report.isIntact, "\(report.problems)")
    }

    @Test("a missing database is a clear error, not an empty report")
    func missingDatabase() throws {
        #expect(throws: AuditStoreError.noDatabase("/nonexistent/audit.sqlite")) {
            try AuditVerifier.verify(
                database: "/nonexistent/audit.sqlite", checkpointDirectory: nil,
                publicKey: .init(rawRepresentation: [UInt8](repeating: 1, count: 32)))
        }
    }
}
