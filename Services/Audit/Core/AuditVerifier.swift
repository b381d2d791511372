import ContactPointAPI
import Foundation
import GRDB
import MerkleTree
import SecurityPrimitives

/// What `contactpoint audit verify` found.
public struct AuditVerification: Sendable {
    public var events: UInt64 = 0
    /// Signed heads checked: rows of the database's `tree_head`, and exported checkpoint files.
    public var databaseHeads = 0
    public var checkpointFiles = 0
    public var newestSignedSize: UInt64 = 0
    /// Events the query index covers (the rest are added when the service next starts); `nil`:
    /// there is no index file.
    public var indexedEvents: UInt64?
    /// Each a sentence saying what is wrong and where. Empty: the log is intact.
    public var problems: [String] = []

    public var isIntact: Bool { problems.isEmpty }
    /// Events appended after the newest signed head: intact as stored, but no signature covers them yet.
    public var unsignedEvents: UInt64 { events > newestSignedSize ? events - newestSignedSize : 0 }
    /// Events not yet in the query index: a crash's last commit, or a log whose index is missing.
    public var unindexedEvents: UInt64 { events - min(events, indexedEvents ?? 0) }
}

/// Recomputes the log from its stored events, without trusting any stored hash, and checks it
/// against every signed tree head — those in the database and those exported as checkpoints
/// (which may be copies kept elsewhere). Altering, deleting, inserting or reordering any event
/// row changes a recomputed root; altering a stored node or a copied-out column is caught by
/// comparing it with the recomputation; a removed head row is caught by its checkpoint file.
public enum AuditVerifier {
    /// The tree-head public key as the audit service exports it beside its checkpoints.
    public static func readPublicKey(path: String) throws -> Ed25519.PublicKey {
        try TreeHeadKey.readPublicKey(path: path)
    }

    public static func verify(database: String, checkpointDirectory: String?, publicKey: Ed25519.PublicKey) throws
        -> AuditVerification
    {
        let store = try AuditStore.openReadOnly(path: database)
        var report = AuditVerification()
        var expectedRoots: [UInt64: [(source: String, root: [UInt8])]] = [:]

        let heads = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM tree_head ORDER BY size").map(AuditStore.treeHead)
        }
        var previous: AuditStore.TreeHead?
        for head in heads {
            let checkpoint = Checkpoint(head, signedBy: publicKey)
            if !checkpoint.isSigned(by: publicKey) {
                report.problems.append("tree head \(head.size) in the database: bad signature")
            }
            if let previous, head.timestampMS <= previous.timestampMS {
                report.problems.append("tree head \(head.size) is not later than tree head \(previous.size)")
            }
            expectedRoots[head.size, default: []].append(("tree head \(head.size) in the database", head.rootHash))
            previous = head
            report.databaseHeads += 1
        }
        if let checkpointDirectory {
            let files = try CheckpointDirectory(path: checkpointDirectory).checkpoints()
            for name in files.unreadable { report.problems.append("checkpoint file \(name) is not a checkpoint") }
            for checkpoint in files.valid {
                let source = "checkpoint \(checkpoint.fileName)"
                if !checkpoint.isSigned(by: publicKey) { report.problems.append("\(source): bad signature") }
                if let head = heads.first(where: { $0.size == checkpoint.size }) {
                    if head.timestampMS != checkpoint.timestampMS || head.rootHash != checkpoint.rootHash {
                        report.problems.append("\(source) differs from the database's tree head of that size")
                    }
                } else {
                    report.problems.append("\(source) has no tree head in the database (a head row was removed)")
                }
                expectedRoots[checkpoint.size, default: []].append((source, checkpoint.rootHash))
                report.checkpointFiles += 1
            }
        }
        report.newestSignedSize = expectedRoots.keys.max() ?? 0

        try store.writer.read { db in
            var frontier = MerkleFrontier()
            var innerNodes = 0
            var signedChildRows = 0
            let indexed = try queryIndexCoverage(db, &report)
            let events = try Row.fetchCursor(db, sql: "SELECT * FROM event ORDER BY leaf_index")
            while let row = try events.next() {
                let position = frontier.size
                let leaf: Int64 = row["leaf_index"]
                if leaf != Int64(position), report.problems.count < 100 {
                    report.problems.append(
                        "event row \(leaf) found where leaf \(position) belongs (rows removed or inserted)")
                }
                let encoded = Array(row["encoded"] as Data)
                let leafHash = MerkleHash.leaf(encoded)
                let checked = try check(
                    row, encoded: encoded, leafHash: leafHash, position: position, indexed: position < indexed, db)
                signedChildRows += checked.children
                if let problem = checked.problem, report.problems.count < 100 { report.problems.append(problem) }
                for node in frontier.append(leafHash: leafHash) {
                    innerNodes += 1
                    let stored = try Data.fetchOne(
                        db.cachedStatement(sql: "SELECT hash FROM tree_node WHERE position = ?"),
                        arguments: [AuditStore.nodePosition(level: node.level, index: node.index)])
                    if stored.map(Array.init) != node.hash, report.problems.count < 100 {
                        report.problems.append(
                            """
                            stored tree node (level \(node.level), index \(node.index)) differs from the \
                            recomputed one
                            """
                        )
                    }
                }
                for expected in expectedRoots[frontier.size] ?? [] where expected.root != frontier.root {
                    report.problems.append(
                        "\(expected.source): its root differs from the root recomputed from the stored events")
                }
            }
            report.events = frontier.size
            let storedNodes = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tree_node") ?? 0
            if storedNodes != innerNodes {
                report.problems.append("\(storedNodes) stored tree nodes where the events make \(innerNodes)")
            }
            if report.indexedEvents != nil {
                report.problems += try actorRowProblems(indexed: indexed, db)
                // Every signed index row was found; any other row is one no event signed.
                let childRows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event_child") ?? 0
                if childRows != signedChildRows {
                    report.problems.append(
                        "event_child has \(childRows) rows where the events name \(signedChildRows) (rows added)")
                }
                let actorRows = try UInt64(Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event_actor") ?? 0)
                if actorRows != indexed {
                    report.problems.append(
                        "event_actor has \(actorRows) rows where the index covers \(indexed) events (rows added)")
                }
            }
        }
        for (size, sources) in expectedRoots where size > report.events {
            for source in sources {
                report.problems.append(
                    "\(source.source) covers \(size) events but the log has \(report.events) (events removed)")
            }
        }
        return report
    }

    /// How far the query index covers the log, noted in the report; a problem if the index
    /// belongs to another log.
    private static func queryIndexCoverage(_ db: Database, _ report: inout AuditVerification) throws -> UInt64 {
        // Absent, never given its tables (the service stopped as it created the file), or of an
        // earlier layout (the service rebuilds it when it starts): no index to check.
        guard
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM pragma_database_list WHERE name = 'idx')") == true,
            try Int.fetchOne(db, sql: "PRAGMA idx.user_version") == AuditStore.queryIndexVersion
        else { return 0 }
        let indexed = try AuditStore.indexedSize(db)
        if indexed == 0, let claimed = try Int64.fetchOne(db, sql: "SELECT size FROM idx.indexed"), claimed != 0 {
            report.problems.append(
                """
                the query index claims \(claimed) events that are not this log's (the service rebuilds it when it \
                starts)
                """
            )
        }
        report.indexedEvents = indexed
        return indexed
    }

    /// What is wrong with one stored event row, if anything: its leaf hash, its encoding's own
    /// position, the columns copied out of it, or (if `indexed`) its child rows in the query index.
    /// Also counts the child rows the encoding names in the index (each checked to be stored).
    private static func check(
        _ row: Row, encoded: [UInt8], leafHash: [UInt8], position: UInt64, indexed: Bool, _ db: Database
    ) throws -> (problem: String?, children: Int) {
        guard let logged = try? Contactpoint_V1_LoggedEvent(serializedBytes: encoded) else {
            return ("event \(row["leaf_index"] as Int64): encoding does not decode", 0)
        }
        let problem = try problem(with: row, logged: logged, leafHash: leafHash, position: position, db)
        guard problem == nil, indexed else { return (problem, indexed ? Set(logged.event.childIds).count : 0) }
        return (try childRowProblem(logged.event, leaf: Int64(position), db), Set(logged.event.childIds).count)
    }

    private static func problem(
        with row: Row, logged: Contactpoint_V1_LoggedEvent, leafHash: [UInt8], position: UInt64, _ db: Database
    ) throws -> String? {
        let leaf: Int64 = row["leaf_index"]
        guard Array(row["leaf_hash"] as Data) == leafHash else {
            return "event \(leaf): stored leaf hash differs from the hash of its encoding"
        }
        guard logged.leafIndex == position else {
            return "event \(leaf): its encoding says leaf \(logged.leafIndex), it sits at \(position)"
        }
        let event = logged.event
        let signed: [(column: String, value: any DatabaseValueConvertible)] = [
            ("event_id", event.eventID), ("occurred_at", event.occurredAtMs), ("logged_at", logged.loggedAtMs),
            ("action", event.action),
            ("category", event.category.rawValue), ("practitioner_id", event.actor.practitionerID),
            ("organisation_id", event.actor.organisationID), ("local_authority", event.actor.localAuthority),
            ("child_local_authority", event.access.childLocalAuthority), ("outcome", event.outcome.rawValue),
            ("override", event.override.rawValue), ("stepped_up", event.steppedUp),
        ]
        let columnsAgree = signed.allSatisfy { (row[$0.column] as DatabaseValue) == $0.value.databaseValue }
        guard columnsAgree else { return "event \(leaf): its query columns differ from its signed encoding" }
        return nil
    }

    /// What is wrong with the child rows of one event in the query index, if anything (its
    /// children are only in its encoding; its other index rows are checked in bulk, see
    /// ``actorRowProblems(indexed:_:)``).
    private static func childRowProblem(_ event: Contactpoint_V1_AuditEvent, leaf: Int64, _ db: Database) throws
        -> String?
    {
        for child in Set(event.childIds) {
            let stored = try Bool.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT EXISTS (SELECT 1 FROM event_child WHERE bucket = ? AND child_id = ? AND leaf_index = ?)"
                ),
                arguments: [AuditStore.bucket(of: UInt64(leaf)), child, leaf])
            if stored != true { return "event \(leaf): its child rows differ from its signed encoding" }
        }
        return nil
    }

    /// The first event below `indexed` without its actor row, and the first whose practitioner is
    /// not listed under its organisation (without the pair, a query by practitioner would not look
    /// in that organisation's events). One scan in SQLite against the event's query columns,
    /// which the scan of the events has checked against each signed encoding.
    private static func actorRowProblems(indexed: UInt64, _ db: Database) throws -> [String] {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT
                    MIN(leaf_index) FILTER (WHERE NOT EXISTS (
                        SELECT 1 FROM event_actor a WHERE a.bucket = e.leaf_index >> \(AuditStore.bucketBits)
                            AND a.organisation_id = e.organisation_id AND a.practitioner_id = e.practitioner_id
                            AND a.occurred_at = e.occurred_at AND a.category = e.category AND a.outcome = e.outcome
                            AND a.leaf_index = e.leaf_index)) AS without_actor,
                    MIN(leaf_index) FILTER (WHERE NOT EXISTS (
                        SELECT 1 FROM practitioner_organisation p
                        WHERE p.practitioner_id = e.practitioner_id AND p.organisation_id = e.organisation_id)) AS \
                        unlisted
                FROM event e WHERE leaf_index < ?
                """,
            arguments: [Int64(indexed)])
        var problems: [String] = []
        if let leaf = row?["without_actor"] as Int64? {
            problems.append("event \(leaf): its actor row differs from its signed encoding")
        }
        if let leaf = row?["unlisted"] as Int64? {
            problems.append("event \(leaf): its practitioner is not listed under its organisation")
        }
        return problems
    }
}
