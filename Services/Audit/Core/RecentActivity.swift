import ContactPointAPI
import GRDB

/// Each practitioner's recent disclosures and denied attempts, by when they occurred: what the
/// misuse rules count as each event is appended, held in memory so that a count costs no
/// random-keyed index in the database (docs/AUDIT.md, "Appends at scale").
///
/// Complete from `horizon` on: every event in the log that occurred at or after it is held. A
/// count reaching further back (an event delivered long after it occurred) returns `nil`, and the
/// caller counts from the query index instead. Loaded from the newest events when the committer
/// first needs it; extended with events other instances appended.
///
/// Confined to the log's committer, which uses it for one transaction at a time and drops it if
/// that transaction fails (it may then hold events that were rolled back).
final class RecentActivity: @unchecked Sendable {
    enum Tally: Sendable { case disclosures, denials }

    private struct Actor: Hashable {
        var organisation: String
        var practitioner: String
    }

    /// Up to five minutes of clock skew between a sender and the log are accepted
    /// (`AuditEventValidation`): an event that occurred at `t` was logged at `t - skew` or later.
    static let skew: Int64 = 300_000
    /// Out-of-order `logged_at` tolerated between instances' commits when searching back.
    static let scanSlack: Int64 = 60_000

    /// Every event that occurred at or after this is held.
    private(set) var horizon: Int64
    /// Events of leaves below this have been recorded.
    private(set) var nextLeaf: UInt64
    /// How far back the rules count (their longest window); a skew more is kept, so that events
    /// delivered minutes late are still counted from memory.
    private let window: Int64
    private var lastPruned: Int64
    /// Occurrence times, ascending, per practitioner within an organisation.
    private var disclosures: [Actor: [Int64]] = [:]
    private var denials: [Actor: [Int64]] = [:]

    private init(horizon: Int64, nextLeaf: UInt64, window: Int64, now: Int64) {
        self.horizon = horizon
        self.nextLeaf = nextLeaf
        self.window = window
        self.lastPruned = now
    }

    /// Loads the events logged since `now - window - 2 × skew`: complete for every event that
    /// occurred since `now - window - skew`. They are found by bisection on the log's `logged_at`
    /// and read from the query index's actor rows (a tenth the size of the events' rows), which
    /// must cover the first `size` leaves.
    static func load(window: Int64, now: Int64, size: UInt64, _ db: Database) throws -> RecentActivity {
        let loggedSince = now - window - 2 * skew
        let activity = RecentActivity(horizon: loggedSince + skew, nextLeaf: size, window: window, now: now)
        if size > 0 {
            let first = try AuditStore.firstLeaf(loggedSince: loggedSince - scanSlack, below: size, db)
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT organisation_id, practitioner_id, occurred_at, category, outcome FROM event_actor
                    WHERE bucket >= ? AND leaf_index >= ? AND leaf_index < ?
                    """,
                arguments: [AuditStore.bucket(of: first), Int64(first), Int64(size)])
            // In the index's order, not in time: sorted once at the end.
            while let row = try rows.next() {
                activity.add(
                    organisation: row[0], practitioner: row[1], occurredAt: row[2], category: row[3], outcome: row[4])
            }
            for key in activity.disclosures.keys { activity.disclosures[key]!.sort() }
            for key in activity.denials.keys { activity.denials[key]!.sort() }
        }
        return activity
    }

    /// Records an event just appended at leaf `nextLeaf`.
    func record(_ event: Contactpoint_V1_AuditEvent) {
        add(
            organisation: event.actor.organisationID, practitioner: event.actor.practitionerID,
            occurredAt: event.occurredAtMs,
            category: Int(event.category.rawValue), outcome: Int(event.outcome.rawValue), keepingOrder: true)
        nextLeaf += 1
    }

    /// Records the leaves from `nextLeaf` to `size` that another instance appended.
    func catchUp(to size: UInt64, _ db: Database) throws {
        guard nextLeaf < size else { return }
        let rows = try Row.fetchCursor(
            db,
            sql:
                """
                SELECT organisation_id, practitioner_id, occurred_at, category, outcome FROM event WHERE \
                leaf_index >= ? ORDER BY leaf_index
                """,
            arguments: [Int64(nextLeaf)])
        while let row = try rows.next() {
            add(
                organisation: row[0], practitioner: row[1], occurredAt: row[2], category: row[3], outcome: row[4],
                keepingOrder: true)
        }
        nextLeaf = size
    }

    /// The practitioner's events of `tally` (within the organisation) that occurred after
    /// `since`; `nil` if that reaches before the horizon.
    func count(_ tally: Tally, organisation: String, practitioner: String, after since: Int64) -> Int? {
        guard since >= horizon else { return nil }
        let times =
            (tally == .disclosures ? disclosures : denials)[
                Actor(organisation: organisation, practitioner: practitioner)] ?? []
        return times.count - Self.firstIndex(after: since, in: times)
    }

    /// Forgets what no rule will count any more, at most once a minute: the horizon moves up to
    /// `now - window - skew`.
    func prune(now: Int64) {
        guard now - lastPruned >= 60_000 else { return }
        lastPruned = now
        let cutoff = now - window - Self.skew
        guard cutoff > horizon else { return }
        horizon = cutoff
        let keep = { (times: [Int64]) -> [Int64]? in
            let first = Self.firstIndex(after: cutoff - 1, in: times)
            return first == times.count ? nil : Array(times[first...])
        }
        disclosures = disclosures.compactMapValues(keep)
        denials = denials.compactMapValues(keep)
    }

    private func add(
        organisation: String, practitioner: String, occurredAt: Int64, category: Int, outcome: Int,
        keepingOrder: Bool = false
    ) {
        guard !practitioner.isEmpty, occurredAt >= horizon else { return }
        let actor = Actor(organisation: organisation, practitioner: practitioner)
        if category == Int(Contactpoint_V1_AuditCategory.disclosure.rawValue) {
            Self.insert(occurredAt, into: &disclosures[actor, default: []], keepingOrder: keepingOrder)
        }
        if outcome == Int(Contactpoint_V1_AuditOutcome.denied.rawValue) {
            Self.insert(occurredAt, into: &denials[actor, default: []], keepingOrder: keepingOrder)
        }
    }

    /// Appends; if `keepingOrder`, a time earlier than the last goes in its place (a late event).
    private static func insert(_ time: Int64, into times: inout [Int64], keepingOrder: Bool) {
        guard keepingOrder, let last = times.last, time < last else {
            times.append(time)
            return
        }
        times.insert(time, at: firstIndex(after: time, in: times))
    }

    /// The index of the first time after `since` in ascending `times`.
    private static func firstIndex(after since: Int64, in times: [Int64]) -> Int {
        var low = 0
        var high = times.count
        while low < high {
            let middle = low + (high - low) / 2
            if times[middle] > since { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
