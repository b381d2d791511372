import ContactPointAPI
import Foundation
import GRDB
import MerkleTree

/// Appending to the log: one transaction per group commit.
extension AuditStore {
    /// Events one sender delivered in one call.
    struct Submission: Sendable {
        var events: [Contactpoint_V1_AuditEvent]
        var sender: String
    }

    public struct Receipt: Sendable, Equatable {
        public var eventID: String
        public var leafIndex: UInt64
        public var duplicate: Bool
    }

    /// Appends every submission's events, in order, in one transaction: each new event becomes
    /// the next leaf (its completed inner nodes stored with it, its query index rows written) and
    /// is run through the misuse rules; an event id already in the log gets its first leaf back,
    /// marked duplicate.
    ///
    /// `frontier` is the caller's copy of the tree's right edge; it is rebuilt from the stored
    /// nodes when another instance has appended since. `activity` is what the rules count,
    /// loaded from the log if `nil`, and given the events another instance appended. Both
    /// returned are valid only if the transaction committed, which it has when this returns
    /// (on a throw, `activity` may hold events that were rolled back: drop it).
    func append(
        _ submissions: [Submission], loggedAt: Int64, rules: MisuseRules, frontier cached: MerkleFrontier?,
        activity known: RecentActivity?
    ) throws -> (receipts: [[Receipt]], frontier: MerkleFrontier, activity: RecentActivity) {
        try writer.write { db in
            let size = try Self.size(db)
            var frontier =
                try cached.flatMap { $0.size == size ? $0 : nil }
                ?? MerkleFrontier(size: size) { level, index in
                    try StoredTree(db: db).subtreeHash(level: level, index: index)
                }
            // Another instance that crashed between committing the log and the index left it short
            // (and the rules' activity is loaded from the index).
            if let indexed = try Int64.fetchOne(db.cachedStatement(sql: "SELECT size FROM idx.indexed")), indexed < size
            {
                _ = try Self.indexStoredEvents(from: UInt64(indexed), limit: Int(size) - Int(indexed), db)
            }
            let activity =
                try known.flatMap { $0.nextLeaf <= size ? $0 : nil }
                ?? RecentActivity.load(window: rules.longestWindow, now: loggedAt, size: size, db)
            try activity.catchUp(to: size, db)
            activity.prune(now: loggedAt)
            var receipts: [[Receipt]] = []
            var lastLeafHash: [UInt8]?
            for submission in submissions {
                var submitted: [Receipt] = []
                for event in submission.events {
                    if let leaf = try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT leaf_index FROM event WHERE event_id = ?"),
                        arguments: [event.eventID])
                    {
                        submitted.append(Receipt(eventID: event.eventID, leafIndex: UInt64(leaf), duplicate: true))
                        continue
                    }
                    let leaf = frontier.size
                    lastLeafHash = try Self.insert(
                        event, leaf: leaf, sender: submission.sender, loggedAt: loggedAt, frontier: &frontier, db)
                    activity.record(event)
                    let counts = { (tally: RecentActivity.Tally, since: Int64) throws -> Int in
                        let (organisation, practitioner) = (event.actor.organisationID, event.actor.practitionerID)
                        return try activity.count(
                            tally, organisation: organisation, practitioner: practitioner, after: since)
                            ?? Self.indexedCount(
                                tally, organisation: organisation, practitioner: practitioner, after: since,
                                size: leaf + 1, db)
                    }
                    for finding in try rules.findings(for: event, count: counts) {
                        try Self.raise(finding, for: event, leaf: leaf, db)
                    }
                    submitted.append(Receipt(eventID: event.eventID, leafIndex: leaf, duplicate: false))
                }
                receipts.append(submitted)
            }
            if let lastLeafHash { try Self.markIndexed(size: frontier.size, lastLeafHash: lastLeafHash, db) }
            return (receipts, frontier, activity)
        }
    }

    /// Stores the event at `leaf`; returns its leaf hash.
    private static func insert(
        _ event: Contactpoint_V1_AuditEvent, leaf: UInt64, sender: String, loggedAt: Int64,
        frontier: inout MerkleFrontier,
        _ db: Database
    ) throws -> [UInt8] {
        var logged = Contactpoint_V1_LoggedEvent()
        logged.event = event
        logged.leafIndex = leaf
        logged.loggedAtMs = loggedAt
        logged.sender = sender
        let encoded: [UInt8] = try logged.serializedBytes()
        let leafHash = MerkleHash.leaf(encoded)
        try db.cachedStatement(
            sql: """
                INSERT INTO event (leaf_index, event_id, encoded, leaf_hash, occurred_at, logged_at, action, category,
                    practitioner_id, organisation_id, local_authority, child_local_authority, outcome, override, \
                    stepped_up)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            Int64(leaf), event.eventID, Data(encoded), Data(leafHash), event.occurredAtMs, loggedAt, event.action,
            event.category.rawValue, event.actor.practitionerID, event.actor.organisationID, event.actor.localAuthority,
            event.access.childLocalAuthority, event.outcome.rawValue, event.override.rawValue, event.steppedUp,
        ])
        try addToQueryIndex(event, leaf: leaf, db)
        for node in frontier.append(leafHash: leafHash) {
            try db.cachedStatement(sql: "INSERT INTO tree_node (position, hash) VALUES (?, ?)")
                .execute(arguments: [nodePosition(level: node.level, index: node.index), Data(node.hash)])
        }
        return leafHash
    }

    /// A new repeated-denials item shows every refusal that raised it, not the last alone: the
    /// practitioner's denied events in their organisation within the window, found in the query
    /// index's recent actor rows.
    private static func linkEarlierDenials(
        of event: Contactpoint_V1_AuditEvent, within window: Int64, before leaf: UInt64, to itemID: String,
        _ db: Database
    ) throws {
        let since = event.occurredAtMs - window
        let first = try firstLeaf(
            loggedSince: since - 2 * RecentActivity.skew - RecentActivity.scanSlack, below: leaf, db)
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO review_item_event (item_id, leaf_index)
                SELECT ?, leaf_index FROM event_actor
                WHERE bucket >= ? AND leaf_index >= ? AND leaf_index < ? AND practitioner_id = ? AND \
                organisation_id = ? AND outcome = ? AND occurred_at > ?
                """,
            arguments: [
                itemID, bucket(of: first), Int64(first), Int64(leaf), event.actor.practitionerID,
                event.actor.organisationID, Contactpoint_V1_AuditOutcome.denied.rawValue, since,
            ])
    }

    /// Adds the event to an open item it joins, or raises a new item.
    private static func raise(
        _ finding: MisuseRules.Finding, for event: Contactpoint_V1_AuditEvent, leaf: UInt64, _ db: Database
    ) throws {
        var itemID: String?
        if let window = finding.joinWithin {
            itemID = try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT id FROM review_item WHERE rule = ? AND practitioner_id = ? AND status != ? AND \
                        raised_at > ?
                        ORDER BY raised_at DESC LIMIT 1
                        """),
                arguments: [
                    finding.rule.rawValue, event.actor.practitionerID, Contactpoint_V1_ReviewStatus.closed.rawValue,
                    event.occurredAtMs - window,
                ])
        }
        if itemID == nil {
            let id = UUID().uuidString.lowercased()
            try db.execute(
                sql: """
                    INSERT INTO review_item (id, rule, practitioner_id, organisation_id, local_authority, raised_at, \
                    status)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, finding.rule.rawValue, event.actor.practitionerID, event.actor.organisationID,
                    event.actor.localAuthority, event.occurredAtMs, Contactpoint_V1_ReviewStatus.open.rawValue,
                ])
            itemID = id
            if finding.rule == .repeatedDenials, let window = finding.joinWithin {
                try linkEarlierDenials(of: event, within: window, before: leaf, to: id, db)
            }
        }
        try db.execute(
            sql: "INSERT INTO review_item_event (item_id, leaf_index) VALUES (?, ?)", arguments: [itemID, Int64(leaf)])
    }
}
