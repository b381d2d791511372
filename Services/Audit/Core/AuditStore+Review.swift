import ContactPointAPI
import Foundation
import GRDB

/// Reading the log for review: queries, the review queue, subject-access reports. `scope` is the
/// local authority a local-authority administrator may see (events of its practitioners or its
/// children), `nil` for an auditor.
extension AuditStore {
    struct EventFilter: Sendable {
        var childID: String?
        var practitionerID: String?
        var organisationID: String?
        var fromMS: Int64?
        var toMS: Int64?
        var flag: Contactpoint_V1_AuditFlag = .unspecified
        var scope: String?
        /// Only events before this leaf (the page token), newest first.
        var beforeLeaf: UInt64?
        var limit = 100
    }

    func events(matching filter: EventFilter) async throws -> [Contactpoint_V1_LoggedEvent] {
        try await writer.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            var from = "event"
            var with = ""
            // A child's events, or (without a child) an organisation's or a practitioner's, come
            // from the query index: one seek per bucket, from the bucket of the newest leaf wanted down.
            let byActor = filter.childID == nil && (filter.organisationID != nil || filter.practitionerID != nil)
            let actor = byActor ? "event_actor" : "event"
            if filter.childID != nil || byActor {
                let size = try Self.size(db)
                let end = min(size, filter.beforeLeaf ?? size)
                guard end > 0 else { return [] }
                with = "WITH RECURSIVE bucket(n) AS (SELECT ? UNION ALL SELECT n - 1 FROM bucket WHERE n > 0) "
                arguments.append(Self.bucket(of: end - 1))
            }
            if let child = filter.childID {
                from =
                    """
                    bucket CROSS JOIN event_child ON event_child.bucket = bucket.n AND event_child.child_id = ? \
                    JOIN event USING (leaf_index)
                    """
                arguments.append(child)
            } else if byActor {
                from = "bucket CROSS JOIN event_actor ON event_actor.bucket = bucket.n JOIN event USING (leaf_index)"
            }
            if let organisation = filter.organisationID {
                conditions.append("\(actor).organisation_id = ?")
                arguments.append(organisation)
            } else if byActor, let practitioner = filter.practitionerID {
                // Each of the practitioner's organisations sought in turn (almost always one).
                conditions.append(
                    """
                    event_actor.organisation_id IN (SELECT organisation_id FROM practitioner_organisation WHERE \
                    practitioner_id = ?)
                    """
                )
                arguments.append(practitioner)
            }
            if let practitioner = filter.practitionerID {
                conditions.append("\(actor).practitioner_id = ?")
                arguments.append(practitioner)
            }
            if let since = filter.fromMS {
                conditions.append("\(actor).occurred_at >= ?")
                arguments.append(since)
            }
            if let until = filter.toMS {
                conditions.append("\(actor).occurred_at < ?")
                arguments.append(until)
            }
            switch filter.flag {
            case .override: conditions.append("event.override != 0")
            case .denied: conditions.append("event.outcome = \(Contactpoint_V1_AuditOutcome.denied.rawValue)")
            case .steppedUp: conditions.append("event.stepped_up != 0")
            default: break
            }
            if let scope = filter.scope {
                conditions.append("(event.local_authority = ? OR event.child_local_authority = ?)")
                arguments += [scope, scope]
            }
            if let before = filter.beforeLeaf {
                conditions.append("event.leaf_index < ?")
                arguments.append(Int64(before))
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Data.fetchAll(
                db,
                sql: "\(with)SELECT event.encoded FROM \(from) \(whereClause) ORDER BY event.leaf_index DESC LIMIT ?",
                arguments: StatementArguments(arguments + [filter.limit]))
            return try rows.map { try Contactpoint_V1_LoggedEvent(serializedBytes: $0) }
        }
    }

    // MARK: The review queue

    static func reviewItem(_ row: Row) -> Contactpoint_V1_ReviewItem {
        .with {
            $0.itemID = row["id"]
            $0.rule = row["rule"]
            $0.practitionerID = row["practitioner_id"]
            $0.organisationID = row["organisation_id"]
            $0.localAuthority = row["local_authority"]
            $0.raisedAtMs = row["raised_at"]
            $0.status = Contactpoint_V1_ReviewStatus(rawValue: row["status"]) ?? .unspecified
            $0.outcome = Contactpoint_V1_ReviewOutcome(rawValue: row["outcome"]) ?? .unspecified
            $0.reviewedBy = row["reviewed_by"]
            $0.reviewedAtMs = row["reviewed_at"]
            $0.eventCount = UInt32(row["event_count"] as Int)
            $0.refusedCount = UInt32(row["refused_count"] as Int)
            $0.highPriority = MisuseRules.Rule(rawValue: $0.rule).map(MisuseRules.highPriority.contains) ?? false
        }
    }

    private static let itemColumns = """
        review_item.*, (SELECT COUNT(*) FROM review_item_event WHERE item_id = review_item.id) AS event_count, \
        (SELECT COUNT(*) FROM review_item_event JOIN event USING (leaf_index) WHERE item_id = review_item.id \
        AND event.outcome = \(Contactpoint_V1_AuditOutcome.denied.rawValue)) AS refused_count
        """

    /// Items newest first; `status` unspecified means every item not yet closed.
    func reviewItems(
        status: Contactpoint_V1_ReviewStatus, highPriorityOnly: Bool = false, scope: String?, beforeRow: Int64?,
        limit: Int
    ) async throws -> [(row: Int64, item: Contactpoint_V1_ReviewItem)] {
        try await writer.read { db in
            var conditions = [
                status == .unspecified
                    ? "status != \(Contactpoint_V1_ReviewStatus.closed.rawValue)" : "status = \(status.rawValue)"
            ]
            if highPriorityOnly {
                conditions.append(
                    "rule IN (\(MisuseRules.highPriority.map { "'\($0.rawValue)'" }.sorted().joined(separator: ",")))")
            }
            var arguments: [any DatabaseValueConvertible] = []
            if let scope {
                conditions.append("local_authority = ?")
                arguments.append(scope)
            }
            if let beforeRow {
                conditions.append("rowid < ?")
                arguments.append(beforeRow)
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT rowid AS row_number, \(Self.itemColumns) FROM review_item WHERE \
                    \(conditions.joined(separator: " AND "))
                    ORDER BY rowid DESC LIMIT ?
                    """,
                arguments: StatementArguments(arguments + [limit])
            ).map { ($0["row_number"], Self.reviewItem($0)) }
        }
    }

    /// The item and its events; an open item passes to `in review` by `reviewer`.
    func openReviewItem(id: String, reviewer: String, scope: String?, now: Int64) async throws
        -> Contactpoint_V1_ReviewItemDetail
    {
        try await writer.write { db in
            try Self.requireItem(id: id, scope: scope, db)
            try db.execute(
                sql: "UPDATE review_item SET status = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ? AND status = ?",
                arguments: [
                    Contactpoint_V1_ReviewStatus.inReview.rawValue, reviewer, now, id,
                    Contactpoint_V1_ReviewStatus.open.rawValue,
                ])
            let item = try Row.fetchOne(
                db, sql: "SELECT \(Self.itemColumns) FROM review_item WHERE id = ?", arguments: [id])!
            let events = try Data.fetchAll(
                db,
                sql: """
                    SELECT event.encoded FROM review_item_event JOIN event USING (leaf_index)
                    WHERE review_item_event.item_id = ? ORDER BY leaf_index
                    """,
                arguments: [id])
            return try .with {
                $0.item = Self.reviewItem(item)
                $0.events = try events.map { try Contactpoint_V1_LoggedEvent(serializedBytes: $0) }
            }
        }
    }

    /// Closes an item with its outcome. A closed item keeps its first outcome.
    func closeReviewItem(
        id: String, outcome: Contactpoint_V1_ReviewOutcome, reviewer: String, scope: String?, now: Int64
    ) async throws -> Contactpoint_V1_ReviewItem {
        try await writer.write { db in
            let current = try Self.requireItem(id: id, scope: scope, db)
            guard current.status != .closed else { throw AuditStoreError.reviewItemClosed(id) }
            try db.execute(
                sql: "UPDATE review_item SET status = ?, outcome = ?, reviewed_by = ?, reviewed_at = ? WHERE id = ?",
                arguments: [Contactpoint_V1_ReviewStatus.closed.rawValue, outcome.rawValue, reviewer, now, id])
            return Self.reviewItem(
                try Row.fetchOne(db, sql: "SELECT \(Self.itemColumns) FROM review_item WHERE id = ?", arguments: [id])!)
        }
    }

    func reviewItem(id: String, scope: String?) async throws -> Contactpoint_V1_ReviewItem {
        try await writer.read { db in try Self.requireItem(id: id, scope: scope, db) }
    }

    /// An item outside the caller's scope is as absent as one that does not exist.
    @discardableResult
    private static func requireItem(id: String, scope: String?, _ db: Database) throws -> Contactpoint_V1_ReviewItem {
        guard
            let row = try Row.fetchOne(db, sql: "SELECT \(itemColumns) FROM review_item WHERE id = ?", arguments: [id]),
            scope == nil || row["local_authority"] == scope
        else { throw AuditStoreError.noSuchReviewItem(id) }
        return reviewItem(row)
    }

    // MARK: Subject access

    /// Every permitted disclosure of the child's record, oldest first.
    func disclosures(ofChild childID: String) async throws -> [Contactpoint_V1_AuditEvent] {
        try await writer.read { db in
            try Data.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE bucket(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM bucket WHERE n < ?)
                    SELECT event.encoded FROM bucket
                    CROSS JOIN event_child ON event_child.bucket = bucket.n AND event_child.child_id = ? JOIN event \
                    USING (leaf_index)
                    WHERE event.category = ? AND event.outcome = ? ORDER BY leaf_index
                    """,
                arguments: [
                    Self.bucket(of: try Self.size(db)), childID, Contactpoint_V1_AuditCategory.disclosure.rawValue,
                    Contactpoint_V1_AuditOutcome.permitted.rawValue,
                ]
            ).map { try Contactpoint_V1_LoggedEvent(serializedBytes: $0).event }
        }
    }
}
