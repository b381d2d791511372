import ContactPointAPI
import Foundation
import GRDB
import Logging

/// The query index: the tables that find a child's, a practitioner's or an organisation's events,
/// kept in a file of their own beside the log (`audit-index.sqlite` beside `audit.sqlite`),
/// attached to every connection as `idx`.
///
/// Its rows are keyed at random (by child, by organisation and practitioner), so once the log is
/// large every insert dirties a page of its own; in the log's file each commit would sync those
/// pages (docs/AUDIT.md, "Appends at scale"). Here they are written in the same transaction as
/// the events but not synced at commit (`synchronous=NORMAL`): SQLite commits the log's file
/// first, so after a crash or power loss the index can only lag the log, never lead it, and
/// ``reconcileQueryIndex(batch:logger:)`` adds what it lacks before the service answers.
/// Everything in it is derived from the log: a missing file, or one of another copy of the log,
/// is rebuilt from the events (so a damaged one can simply be deleted), and
/// `contactpoint audit verify` checks it against them.
extension AuditStore {
    /// The index file that goes with the log at `path`.
    static func queryIndexPath(forLog path: String) -> String {
        let log = URL(fileURLWithPath: path)
        let name = log.pathExtension.isEmpty ? log.lastPathComponent : log.deletingPathExtension().lastPathComponent
        return log.deletingLastPathComponent().appendingPathComponent("\(name)-index.sqlite").path
    }

    /// Attaches the index file as `idx`; a writing connection makes it a WAL database synced only
    /// at checkpoints.
    static func attachQueryIndex(path: String, _ db: Database) throws {
        try db.execute(sql: "ATTACH DATABASE ? AS idx", arguments: [path])
        if !db.configuration.readonly {
            try db.execute(sql: "PRAGMA idx.journal_mode = WAL")
            try db.execute(sql: "PRAGMA idx.synchronous = NORMAL")
        }
    }

    /// 2: actor rows lead with the leaf's bucket, as child rows do.
    static let queryIndexVersion = 2

    /// Creates the index tables if the file is new (or was emptied for a rebuild). `indexed` says
    /// how far the index covers the log: the first `size` leaves, the last of which has the hash
    /// `last_leaf_hash` (so that an index of some other log, or of a longer one restored from an
    /// older backup, is not taken).
    static func createQueryIndex(_ db: Database) throws {
        guard try Int.fetchOne(db, sql: "PRAGMA idx.user_version") == 0 else { return }
        try db.execute(
            sql: """
                CREATE TABLE idx.indexed (
                    id INTEGER PRIMARY KEY CHECK (id = 0),
                    size INTEGER NOT NULL,
                    last_leaf_hash BLOB
                ) STRICT;
                INSERT INTO idx.indexed VALUES (0, 0, NULL);
                CREATE TABLE idx.event_actor (
                    bucket INTEGER NOT NULL,
                    organisation_id TEXT NOT NULL,
                    practitioner_id TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    category INTEGER NOT NULL,
                    outcome INTEGER NOT NULL,
                    leaf_index INTEGER NOT NULL,
                    PRIMARY KEY (bucket, organisation_id, practitioner_id, occurred_at, category, outcome, leaf_index)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE idx.practitioner_organisation (
                    practitioner_id TEXT NOT NULL,
                    organisation_id TEXT NOT NULL,
                    PRIMARY KEY (practitioner_id, organisation_id)
                ) STRICT, WITHOUT ROWID;
                CREATE TABLE idx.event_child (
                    bucket INTEGER NOT NULL,
                    child_id TEXT NOT NULL,
                    leaf_index INTEGER NOT NULL,
                    PRIMARY KEY (bucket, child_id, leaf_index)
                ) STRICT, WITHOUT ROWID;
                PRAGMA idx.user_version = \(queryIndexVersion);
                """)
        // Only a rebuild removes rows, and it drops the tables.
        try appendOnly(["event_actor", "practitioner_organisation", "event_child"], schema: "idx", db)
    }

    /// The rows that find one event: by organisation and practitioner, and by each child. Both
    /// lead with the leaf's bucket, so that inserts land in the newest bucket's pages.
    static func addToQueryIndex(_ event: Contactpoint_V1_AuditEvent, leaf: UInt64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO event_actor (bucket, organisation_id, practitioner_id, occurred_at, category, \
                outcome, leaf_index)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            bucket(of: leaf), event.actor.organisationID, event.actor.practitionerID, event.occurredAtMs,
            event.category.rawValue,
            event.outcome.rawValue, Int64(leaf),
        ])
        // Almost always there already: a lookup, nothing written.
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO practitioner_organisation (practitioner_id, organisation_id) VALUES (?, ?)"
        )
        .execute(arguments: [event.actor.practitionerID, event.actor.organisationID])
        for child in Set(event.childIds) {
            try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO event_child (bucket, child_id, leaf_index) VALUES (?, ?, ?)"
            )
            .execute(arguments: [bucket(of: leaf), child, Int64(leaf)])
        }
    }

    /// The practitioner's events of `tally` (within the organisation) among the first `size`
    /// leaves that occurred after `since`: what the misuse rules count when it reaches back beyond
    /// what ``RecentActivity`` holds (an event delivered long after it occurred). One seek per
    /// bucket, down to the bucket of the first leaf logged after `since` less the accepted skew
    /// (an event that occurred after `since` was logged after that).
    static func indexedCount(
        _ tally: RecentActivity.Tally, organisation: String, practitioner: String, after since: Int64, size: UInt64,
        _ db: Database
    ) throws -> Int {
        let condition =
            switch tally {
            case .disclosures: "category = \(Contactpoint_V1_AuditCategory.disclosure.rawValue)"
            case .denials: "outcome = \(Contactpoint_V1_AuditOutcome.denied.rawValue)"
            }
        let first = try firstLeaf(loggedSince: since - RecentActivity.skew - RecentActivity.scanSlack, below: size, db)
        return try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    WITH RECURSIVE bucket(n) AS (SELECT ? UNION ALL SELECT n - 1 FROM bucket WHERE n > ?)
                    SELECT COUNT(*) FROM bucket CROSS JOIN event_actor ON event_actor.bucket = bucket.n
                        AND organisation_id = ? AND practitioner_id = ? AND occurred_at > ? AND \(condition)
                    """),
            arguments: [bucket(of: size - 1), bucket(of: first), organisation, practitioner, since]) ?? 0
    }

    /// The first of the first `size` leaves logged at or after `time`, found by bisection (commits
    /// log their events in time order; instances' clocks may differ by the slack the caller allows).
    static func firstLeaf(loggedSince time: Int64, below size: UInt64, _ db: Database) throws -> UInt64 {
        var low: UInt64 = 0
        var high = size
        while low < high {
            let middle = low + (high - low) / 2
            let logged =
                try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT logged_at FROM event WHERE leaf_index = ?"),
                    arguments: [Int64(middle)]) ?? 0
            if logged >= time { high = middle } else { low = middle + 1 }
        }
        return min(low, size - 1)
    }

    /// Records that the index covers the first `size` leaves.
    static func markIndexed(size: UInt64, lastLeafHash: [UInt8]?, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE idx.indexed SET size = ?, last_leaf_hash = ?")
            .execute(arguments: [Int64(size), lastLeafHash.map { Data($0) }])
    }

    /// How many leaves the index covers; 0 if it belongs to another log (it is then rebuilt).
    static func indexedSize(_ db: Database) throws -> UInt64 {
        guard let row = try Row.fetchOne(db, sql: "SELECT size, last_leaf_hash FROM idx.indexed") else { return 0 }
        let size = UInt64(row["size"] as Int64)
        guard size > 0 else { return 0 }
        let stored = try Data.fetchOne(
            db, sql: "SELECT leaf_hash FROM event WHERE leaf_index = ?", arguments: [Int64(size - 1)])
        return stored != nil && stored == row["last_leaf_hash"] ? size : 0
    }

    /// Brings the index up to the log: creates its tables in a new file, rebuilds it if it belongs
    /// to another log, then indexes the events it lacks (after a crash, the last commit's; after an
    /// upgrade or a lost file, all of them), in transactions of `batch` events. Called once at
    /// open, after the log's migrations and before any append.
    func reconcileQueryIndex(batch: Int = 20_000, logger: Logger?) throws {
        var (indexed, size) = try writer.write { db in
            if let version = try Int.fetchOne(db, sql: "PRAGMA idx.user_version"), version != 0,
                version != Self.queryIndexVersion
            {
                logger?.notice(
                    "the query index has an earlier layout: rebuilding it",
                    metadata: ["audit.index-layout": "\(version)"])
                try Self.dropQueryIndex(db)
            }
            try Self.createQueryIndex(db)
            let indexed = try Self.indexedSize(db)
            let stored = try Int64.fetchOne(db, sql: "SELECT size FROM idx.indexed") ?? 0
            if indexed == 0 && stored != 0 {
                logger?.warning(
                    "the query index does not match this log: rebuilding it",
                    metadata: ["audit.index-size": "\(stored)"])
                try Self.dropQueryIndex(db)
                try Self.createQueryIndex(db)
            }
            return (indexed, try Self.size(db))
        }
        guard indexed < size else { return }
        if size - indexed > UInt64(batch) {
            logger?.notice(
                "indexing the log for queries", metadata: ["audit.from": "\(indexed)", "audit.to": "\(size)"])
        }
        while indexed < size {
            let reached = try writer.write { db in try Self.indexStoredEvents(from: indexed, limit: batch, db) }
            guard reached > indexed else { break }
            // A rebuild takes minutes per 10 M events: say how far it has come every million.
            if reached / 1_000_000 > indexed / 1_000_000 {
                logger?.notice(
                    "query index progress", metadata: ["audit.indexed": "\(reached)", "audit.to": "\(size)"])
            }
            indexed = reached
        }
    }

    private static func dropQueryIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE idx.event_actor; DROP TABLE idx.practitioner_organisation; DROP TABLE idx.event_child;
                DROP TABLE idx.indexed; PRAGMA idx.user_version = 0;
                """)
    }

    /// Indexes up to `limit` stored events from leaf `from` on, decoded from their encodings, and
    /// records how far the index now reaches; returns that size.
    static func indexStoredEvents(from: UInt64, limit: Int, _ db: Database) throws -> UInt64 {
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT leaf_index, encoded, leaf_hash FROM event WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?",
            arguments: [Int64(from), limit])
        var next = from
        var lastLeafHash: [UInt8]?
        while let row = try rows.next() {
            let leaf = UInt64(row["leaf_index"] as Int64)
            try addToQueryIndex(
                try Contactpoint_V1_LoggedEvent(serializedBytes: row["encoded"] as Data).event, leaf: leaf, db)
            next = leaf + 1
            lastLeafHash = Array(row["leaf_hash"] as Data)
        }
        if let lastLeafHash { try markIndexed(size: next, lastLeafHash: lastLeafHash, db) }
        return next
    }
}
