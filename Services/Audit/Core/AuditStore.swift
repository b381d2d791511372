import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import Logging
import MerkleTree
import StoreSupport
import Synchronization

/// The audit database (`audit.sqlite`): the log of events as an RFC 6962 Merkle tree, the signed
/// tree heads, and the review queue; and beside it the query index (`audit-index.sqlite`, see
/// `AuditStore+QueryIndex.swift`).
///
/// `event` holds each leaf's encoding exactly as it was hashed, plus columns copied out of it
/// for queries (`contactpoint audit verify` checks that they still agree). `tree_node` holds
/// every completed inner node (level ≥ 1) so that a proof costs O(log n) lookups at any size.
/// Rows of `event`, `tree_node` and `tree_head` are never updated or deleted:
/// triggers refuse it, and verify detects it if someone bypasses them.
public struct AuditStore: Sendable {
    let writer: any DatabaseWriter
    /// The tree's upper nodes, which every proof asks for (see ``UpperNodes``).
    let upperNodes = UpperNodes()

    /// Opens (creating if needed) the log at `path` and its query index beside it: WAL,
    /// `synchronous=FULL` for the log (an acknowledged append survives a crash or power loss);
    /// instances sharing the files wait for each other's writes rather than fail. The query index
    /// is brought up to the log before this returns (see ``reconcileQueryIndex(batch:logger:)``).
    public static func open(path: String, logger: Logger? = nil) throws -> AuditStore {
        let indexPath = queryIndexPath(forLog: path)
        let pool = try DurableDatabase.open(path: path, busyTimeout: 10) { db in
            // Checkpoints of up to 64 MB rather than 4 MB: the index file syncs only at
            // checkpoints, and a page written by many commits is then written back once.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
            try attachQueryIndex(path: indexPath, db)
        }
        let store = AuditStore(writer: pool)
        try migrator.migrate(store.writer)
        try store.reconcileQueryIndex(logger: logger)
        try store.writer.read { db in try store.upperNodes.load(db) }
        return store
    }

    /// Opens an existing log without changing it (for verify), with its query index if there is one.
    static func openReadOnly(path: String) throws -> AuditStore {
        guard FileManager.default.fileExists(atPath: path) else { throw AuditStoreError.noDatabase(path) }
        let indexPath = queryIndexPath(forLog: path)
        let hasIndex = FileManager.default.fileExists(atPath: indexPath)
        var configuration = Configuration()
        configuration.readonly = true
        configuration.prepareDatabase { db in
            if hasIndex { try attachQueryIndex(path: indexPath, db) }
        }
        return AuditStore(writer: try DatabaseQueue(path: path, configuration: configuration))
    }

    private init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    func isAvailable() async -> Bool {
        (try? await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: log, tree, heads, review") { db in
            try db.execute(
                sql: """
                    CREATE TABLE event (
                        leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
                        event_id TEXT NOT NULL UNIQUE,
                        encoded BLOB NOT NULL,
                        leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
                        occurred_at INTEGER NOT NULL,
                        logged_at INTEGER NOT NULL,
                        action TEXT NOT NULL,
                        category INTEGER NOT NULL,
                        practitioner_id TEXT NOT NULL,
                        organisation_id TEXT NOT NULL,
                        local_authority TEXT NOT NULL,
                        child_local_authority TEXT NOT NULL,
                        outcome INTEGER NOT NULL,
                        override INTEGER NOT NULL,
                        stepped_up INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX event_by_practitioner ON event(practitioner_id, occurred_at);
                    CREATE INDEX event_by_organisation ON event(organisation_id, occurred_at);
                    CREATE INDEX event_by_time ON event(occurred_at);
                    CREATE TABLE event_child (
                        child_id TEXT NOT NULL,
                        leaf_index INTEGER NOT NULL REFERENCES event(leaf_index),
                        PRIMARY KEY (child_id, leaf_index)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE tree_node (
                        position INTEGER PRIMARY KEY,
                        hash BLOB NOT NULL CHECK (length(hash) = 32)
                    ) STRICT;
                    CREATE TABLE tree_head (
                        size INTEGER PRIMARY KEY,
                        root_hash BLOB NOT NULL,
                        timestamp_ms INTEGER NOT NULL UNIQUE,
                        key_id TEXT NOT NULL,
                        signature BLOB NOT NULL
                    ) STRICT;
                    CREATE TABLE review_item (
                        id TEXT PRIMARY KEY,
                        rule TEXT NOT NULL,
                        practitioner_id TEXT NOT NULL,
                        organisation_id TEXT NOT NULL,
                        local_authority TEXT NOT NULL,
                        raised_at INTEGER NOT NULL,
                        status INTEGER NOT NULL,
                        outcome INTEGER NOT NULL DEFAULT 0,
                        reviewed_by TEXT NOT NULL DEFAULT '',
                        reviewed_at INTEGER NOT NULL DEFAULT 0
                    ) STRICT;
                    CREATE INDEX review_item_by_status ON review_item(status, raised_at);
                    CREATE INDEX review_item_by_rule ON review_item(rule, practitioner_id, raised_at);
                    CREATE TABLE review_item_event (
                        item_id TEXT NOT NULL REFERENCES review_item(id),
                        leaf_index INTEGER NOT NULL REFERENCES event(leaf_index),
                        PRIMARY KEY (item_id, leaf_index)
                    ) STRICT, WITHOUT ROWID;
                    """)
            try appendOnly(["event", "event_child", "tree_node", "tree_head"], db)
        }
        migrator.registerMigration("2: indexes that grow at one end") { db in
            // Each random-keyed index makes every insert dirty a page of its own once the log is
            // large (docs/AUDIT.md, "Appends at scale"): one index serves practitioners and
            // organisations (a practitioner's organisations are listed apart), and the child index
            // is split into buckets of consecutive leaves, so inserts land in the newest bucket.
            try db.execute(
                sql: """
                    DROP INDEX event_by_practitioner;
                    DROP INDEX event_by_organisation;
                    CREATE INDEX event_by_actor ON event(organisation_id, practitioner_id, occurred_at, category, \
                    outcome);
                    CREATE TABLE practitioner_organisation (
                        practitioner_id TEXT NOT NULL,
                        organisation_id TEXT NOT NULL,
                        PRIMARY KEY (practitioner_id, organisation_id)
                    ) STRICT, WITHOUT ROWID;
                    INSERT INTO practitioner_organisation SELECT DISTINCT practitioner_id, organisation_id FROM event;
                    CREATE TABLE event_child_bucketed (
                        bucket INTEGER NOT NULL,
                        child_id TEXT NOT NULL,
                        leaf_index INTEGER NOT NULL REFERENCES event(leaf_index),
                        PRIMARY KEY (bucket, child_id, leaf_index)
                    ) STRICT, WITHOUT ROWID;
                    INSERT INTO event_child_bucketed SELECT leaf_index >> \(bucketBits), child_id, leaf_index FROM \
                    event_child ORDER BY 1, 2, 3;
                    DROP TABLE event_child;
                    ALTER TABLE event_child_bucketed RENAME TO event_child;
                    """)
            try appendOnly(["event_child", "practitioner_organisation"], db)
        }
        migrator.registerMigration("3: the query index in its own file") { db in
            // Their pages were most of what each commit synced (docs/AUDIT.md, "Appends at
            // scale"); the index file is built from the events when the store opens.
            try db.execute(
                sql: """
                    DROP INDEX main.event_by_actor;
                    DROP TABLE main.practitioner_organisation;
                    DROP TABLE main.event_child;
                    """)
        }
        return migrator
    }

    /// Triggers that refuse to update or delete rows of `tables` (of the database `schema`).
    static func appendOnly(_ tables: [String], schema: String = "main", _ db: Database) throws {
        for table in tables {
            for change in ["UPDATE", "DELETE"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER \(schema).\(table)_no_\(change.lowercased()) BEFORE \(change) ON \(table)
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                        """)
            }
        }
    }

    /// The query index's rows (`event_child`, `event_actor`) are grouped by `leaf_index >> bucketBits`:
    /// 65,536 leaves a bucket. A child's or an actor's events are found with one seek per bucket
    /// (1,526 at 100 M events).
    static let bucketBits = 16

    static func bucket(of leaf: UInt64) -> Int64 { Int64(leaf >> UInt64(bucketBits)) }

    // MARK: The tree

    /// Inner nodes are keyed by level and index in one integer: level in the top byte.
    static func nodePosition(level: Int, index: UInt64) -> Int64 {
        Int64(bitPattern: UInt64(level) << 56 | index)
    }

    static func size(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM event") ?? 0)
    }

    /// The stored tree as a proof source, inside one read transaction; with `upper`, its upper
    /// nodes come from memory.
    struct StoredTree: MerkleSubtreeSource {
        let db: Database
        var upper: UpperNodes?

        func subtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
            let position = AuditStore.nodePosition(level: level, index: index)
            let held = level >= UpperNodes.lowestLevel ? upper : nil
            if let hash = held?.hash(at: position) { return hash }
            let data: Data?
            if level == 0 {
                data = try Data.fetchOne(
                    db.cachedStatement(sql: "SELECT leaf_hash FROM event WHERE leaf_index = ?"),
                    arguments: [Int64(index)])
            } else {
                data = try Data.fetchOne(
                    db.cachedStatement(sql: "SELECT hash FROM tree_node WHERE position = ?"), arguments: [position])
            }
            guard let data else { throw AuditStoreError.missingNode(level: level, index: index) }
            held?.remember(Array(data), at: position)
            return Array(data)
        }
    }

    /// The inner nodes of level ``lowestLevel`` and up (one per 1,024 leaves or more: ~100,000
    /// at 100 M events, ~10 MB), held in memory: a proof asks for about two nodes a level, so
    /// with these from memory it reads the database for the lowest ten levels alone. Loaded when
    /// the store opens, and taken in as proofs read new ones. A stored node never changes, and
    /// only nodes read from committed transactions are held.
    final class UpperNodes: Sendable {
        static let lowestLevel = 10
        private let nodes = Mutex<[Int64: [UInt8]]>([:])

        func hash(at position: Int64) -> [UInt8]? { nodes.withLock { $0[position] } }

        func remember(_ hash: [UInt8], at position: Int64) { nodes.withLock { $0[position] = hash } }

        func load(_ db: Database) throws {
            let rows = try Row.fetchCursor(
                db, sql: "SELECT position, hash FROM tree_node WHERE position >= ?",
                arguments: [AuditStore.nodePosition(level: Self.lowestLevel, index: 0)])
            var loaded: [Int64: [UInt8]] = [:]
            while let row = try rows.next() { loaded[row[0]] = Array(row[1] as Data) }
            nodes.withLock { $0.merge(loaded) { held, _ in held } }
        }
    }

    // MARK: Tree heads

    struct TreeHead: Sendable, Equatable {
        var size: UInt64
        var rootHash: [UInt8]
        var timestampMS: Int64
        var keyID: String
        var signature: [UInt8]
    }

    static func treeHead(_ row: Row) -> TreeHead {
        TreeHead(
            size: UInt64(row["size"] as Int64), rootHash: Array(row["root_hash"] as Data),
            timestampMS: row["timestamp_ms"],
            keyID: row["key_id"], signature: Array(row["signature"] as Data))
    }

    /// The number of events in the log.
    public func size() async throws -> UInt64 {
        try await writer.read { db in try Self.size(db) }
    }

    func latestTreeHead() async throws -> TreeHead? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tree_head ORDER BY size DESC LIMIT 1").map(Self.treeHead)
        }
    }

    func treeHead(size: UInt64) async throws -> TreeHead? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tree_head WHERE size = ?", arguments: [Int64(size)]).map(
                Self.treeHead)
        }
    }

    /// Signs and stores a head for the current size if the tree grew since the last one (the
    /// signing happens inside the write transaction, so heads from several instances stay in
    /// order). Returns the new head, or `nil` if there was nothing new to sign.
    func signNewTreeHead(
        now: Int64,
        sign:
            @Sendable (_ size: UInt64, _ root: [UInt8], _ timestampMS: Int64) throws -> (
                keyID: String, signature: [UInt8]
            )
    ) async throws -> TreeHead? {
        try await writer.write { db in
            let size = try Self.size(db)
            let last = try Row.fetchOne(db, sql: "SELECT * FROM tree_head ORDER BY size DESC LIMIT 1").map(
                Self.treeHead)
            if let last, last.size >= size { return nil }
            if size == 0 { return nil }
            let root = try StoredTree(db: db, upper: upperNodes).rootHash(to: size)
            let timestamp = max(now, (last?.timestampMS ?? 0) + 1)
            let (keyID, signature) = try sign(size, root, timestamp)
            let head = TreeHead(size: size, rootHash: root, timestampMS: timestamp, keyID: keyID, signature: signature)
            try db.execute(
                sql: "INSERT INTO tree_head (size, root_hash, timestamp_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                arguments: [Int64(size), Data(root), timestamp, keyID, Data(signature)])
            return head
        }
    }

    // MARK: Proofs

    /// The leaf of an event, its hash and its audit path to `size`.
    public func inclusionProof(eventID: String, size: UInt64) async throws -> (
        leaf: UInt64, leafHash: [UInt8], path: [[UInt8]]
    ) {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT leaf_index, leaf_hash FROM event WHERE event_id = ?", arguments: [eventID])
            else { throw AuditStoreError.noSuchEvent(eventID) }
            let leaf = UInt64(row["leaf_index"] as Int64)
            guard leaf < size else { throw AuditStoreError.eventAfterTreeHead(eventID, size: size) }
            let path = try StoredTree(db: db, upper: upperNodes).inclusionProof(leaf: leaf, size: size)
            return (leaf, Array(row["leaf_hash"] as Data), path)
        }
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> [[UInt8]] {
        try await writer.read { db in
            guard second <= (try Self.size(db)) else {
                throw MerkleProofError.sizesOutOfOrder(first: second, second: try Self.size(db))
            }
            return try StoredTree(db: db, upper: upperNodes).consistencyProof(first: first, second: second)
        }
    }
}

enum AuditStoreError: Error, Equatable, CustomStringConvertible, RPCErrorConvertible {
    case noDatabase(String)
    case missingNode(level: Int, index: UInt64)
    case noSuchEvent(String)
    case eventAfterTreeHead(String, size: UInt64)
    case noSuchReviewItem(String)
    case reviewItemClosed(String)

    var rpcErrorCode: RPCError.Code {
        switch self {
        case .noDatabase: .unavailable
        case .missingNode: .dataLoss
        case .noSuchEvent, .noSuchReviewItem: .notFound
        case .eventAfterTreeHead, .reviewItemClosed: .failedPrecondition
        }
    }

    var rpcErrorMessage: String {
        switch self {
        case .noSuchEvent(let id): "event_id: no event \(id) in the log"
        case .noSuchReviewItem(let id): "item_id: no review item \(id)"
        default: description
        }
    }

    var description: String {
        switch self {
        case .noDatabase(let path): "no audit database at \(path)"
        case .missingNode(let level, let index): "the tree has no node at level \(level), index \(index)"
        case .noSuchEvent(let id): "no event \(id) in the log"
        case .eventAfterTreeHead(let id, let size): "event \(id) is newer than the tree head of size \(size)"
        case .noSuchReviewItem(let id): "no review item \(id)"
        case .reviewItemClosed(let id): "review item \(id) is already closed"
        }
    }
}
