import ContactPointAPI
import Foundation
import GRDB
import Identifiers
import RecordFields
import StoreSupport
import Timekeeping
import Vocabulary

extension IndexStore {
    struct PutResult: Sendable, Equatable {
        /// In the order given; empty for a row skipped.
        var childIDs: [String]
        var created: Int
        var updated: Int
        var skippedAdults = 0
    }

    /// What a put does with a young person not yet on the index who is 18 or over on `today`
    /// (born on or before ``bornOnOrBefore``): refuse the batch (a practitioner's or
    /// administrator's put), or skip the row and count it (a feed). Someone born on 29 February
    /// turns 18 on 1 March in a year without one.
    struct AdultRule: Sendable {
        let bornOnOrBefore: String
        let skip: Bool

        init(today: CalendarDay, skip: Bool) {
            bornOnOrBefore = today.adding(years: -18).description
            self.skip = skip
        }

        func isAdult(bornOn dateOfBirth: String) -> Bool { dateOfBirth <= bornOnOrBefore }
    }

    /// The most children one audit event names (the audit service's limit).
    static let childrenPerAuditEvent = 1000

    /// Creates or replaces children's details (validated) in one transaction, with one audit
    /// event per 1,000 children. A child without an id gets a new random ContactPoint ID. A feed's
    /// involvement is added unless the same organisation already has a current one of that
    /// service type; for a child already on the index it is also a change event.
    /// A new child of 18 or over is refused or skipped (`adults`); a child already on the index
    /// is updated whatever their age. With `write`, a retry of the same put changes nothing and
    /// answers as the first did.
    func putChildren(
        _ entries: [Contactpoint_V1_ChildEntry], by actor: Contactpoint_V1_AuditActor, now: Int64,
        audit: Contactpoint_V1_AuditEvent, adults: AdultRule, write: IdempotentWrite? = nil
    ) async throws -> PutResult {
        defer { changesWritten.signal() }
        let response = try await writer.writeOnce(write, at: Instant(milliseconds: now)) { db in
            var result = PutResult(childIDs: [], created: 0, updated: 0)
            let searchKeys = try Self.isInitialLoad(db) ? Self.stagingTable : "search_key"
            for (position, entry) in entries.enumerated() {
                var child = entry.child
                let given = ContactPointID(child.childID).map { Int64($0.digits)! }
                // During an initial load the loader issued the ID: new by construction (and
                // checked when the ID index is built), so there is nothing to look up.
                let row = try given.flatMap { searchKeys == "search_key" ? try Self.row(ofChild: $0, db) : nil }
                if row == nil, adults.isAdult(bornOn: child.dateOfBirth) {
                    guard adults.skip else {
                        throw IndexStoreError.adult(position: position, bornOnOrBefore: adults.bornOnOrBefore)
                    }
                    result.childIDs.append("")
                    result.skippedAdults += 1
                    continue
                }
                if let row { try deleteDetails(ofChildRow: row, db) }
                let id = try given ?? Self.newChildID(db)
                child.childID = Self.childID(id)
                let existed = row != nil
                let childRow = try Self.insertDetails(child, id: id, row: row, now: now, searchKeys: searchKeys, db)
                for involvement in entry.involvements {
                    if existed {
                        let current =
                            try Bool.fetchOne(
                                db.cachedStatement(
                                    sql: """
                                        SELECT 1 FROM involvement
                                        WHERE child_row = ? AND organisation_id = ? AND service_type = ? AND end_date \
                                        IS NULL
                                        """),
                                arguments: [childRow, involvement.organisationID, involvement.serviceType.code])
                            ?? false
                        guard !current else { continue }
                    }
                    let involvementID = try Self.insertInvolvement(
                        involvement, childRow: childRow, recordedBy: Self.feedRecorder + actor.practitionerID, now: now,
                        db)
                    if existed {
                        try appendChange(
                            .involvementRecorded, childID: id, involvementID: involvementID,
                            organisationID: involvement.organisationID,
                            serviceType: involvement.serviceType, by: actor.practitionerID, now: now, db)
                    }
                }
                result.childIDs.append(child.childID)
                if existed { result.updated += 1 } else { result.created += 1 }
            }
            // The audit log takes at most 1,000 children per event: a larger batch is several events.
            let stored = result.childIDs.filter { !$0.isEmpty }
            for (n, start) in stride(from: 0, to: stored.count, by: Self.childrenPerAuditEvent).enumerated() {
                var event = audit
                if n > 0 { event.eventID = EventID.make() }
                event.childIds = Array(stored[start..<min(start + Self.childrenPerAuditEvent, stored.count)])
                try OutboxTables.appendAudit(event, db)
            }
            return Contactpoint_V1_PutChildrenResponse.with {
                $0.childIds = result.childIDs
                $0.created = UInt32(result.created)
                $0.updated = UInt32(result.updated)
                $0.skippedAdults = UInt32(result.skippedAdults)
            }
        }
        return PutResult(
            childIDs: response.childIds, created: Int(response.created), updated: Int(response.updated),
            skippedAdults: Int(response.skippedAdults))
    }

    /// ``putChildren(_:by:now:audit:)`` for a process rather than a session (a feed loaded on the
    /// host, the demo world): `name` is recorded as the actor of `action`.
    /// A feed's young people of 18 or over who are not on the index are skipped and counted.
    func putChildren(_ entries: [Contactpoint_V1_ChildEntry], asProcess name: String, action: AuditAction, now: Int64)
        async throws -> PutResult
    {
        let actor = Contactpoint_V1_AuditActor.with { $0.practitionerID = name }
        return try await putChildren(
            entries, by: actor, now: now,
            audit: .with {
                $0.eventID = EventID.make()
                $0.occurredAtMs = now
                $0.action = action.description
                $0.category = .change
                $0.actor = actor
                $0.service = action.service
                $0.outcome = .permitted
            }, adults: AdultRule(today: CalendarDay(inEngland: Instant(milliseconds: now)), skip: true))
    }

    /// A child's details, involvements (with indicators) and shield, or `nil` if unknown.
    func record(ofChild childID: ContactPointID) async throws -> StoredRecord? {
        try await lookups.read { db in
            try Self.row(ofChild: Int64(childID.digits)!, db).flatMap { try record(row: $0, db) }
        }
    }

    struct StoredRecord: Sendable {
        var child: Contactpoint_V1_ChildDetails
        var involvements: [Contactpoint_V1_Involvement]
        var shielded: Bool
    }

    func record(row childRow: Int64, _ db: Database) throws -> StoredRecord? {
        guard
            let (id, child) = try Self.decodeRows(
                db.cachedStatement(
                    sql: """
                        SELECT id, given_name, family_name, date_of_birth, gender, local_authority, status, \
                        is_shielded FROM child WHERE row = ?
                        """),
                [childRow],
                { row in
                    (
                        row[0] as Int64,
                        StoredRecord(
                            child: .with {
                                $0.childID = Self.childID(row[0])
                                $0.name = .with {
                                    $0.given = row[1]
                                    $0.family = row[2]
                                }
                                $0.dateOfBirth = row[3]
                                $0.gender = Contactpoint_V1_Gender(code: row[4]) ?? .notKnown
                                $0.localAuthority = row[5]
                                $0.status = Contactpoint_V1_ChildStatus(code: row[6]) ?? .active
                            },
                            involvements: [], shielded: row[7])
                    )
                }
            ).first
        else { return nil }
        var record = child
        record.child.otherNames = try Self.decodeRows(
            db.cachedStatement(
                sql: "SELECT given_name, family_name FROM child_other_name WHERE child_row = ? ORDER BY position"),
            [childRow]
        ) { name in
            .with {
                $0.given = name[0]
                $0.family = name[1]
            }
        }
        for (position, address) in try Self.decodeRows(
            db.cachedStatement(
                sql: "SELECT position, \(Self.addressColumns) FROM child_address WHERE child_row = ? ORDER BY position"),
            [childRow],
            { row in (row[0] as Int, Self.address(row, from: 1)) })
        {
            if position == 0 { record.child.address = address } else { record.child.previousAddresses.append(address) }
        }
        record.child.carers = try Self.decodeRows(
            db.cachedStatement(
                sql: """
                    SELECT given_name, family_name, relationship, parental_responsibility, telephone, \(Self.addressColumns)
                    FROM carer WHERE child_row = ? ORDER BY position
                    """),
            [childRow]
        ) { carer in
            .with {
                $0.name = .with {
                    $0.given = carer[0]
                    $0.family = carer[1]
                }
                $0.relationship = Contactpoint_V1_CarerRelationship(code: carer[2]) ?? .other
                $0.parentalResponsibility = carer[3]
                $0.telephone = carer[4] ?? ""
                if !carer.hasNull(atIndex: 5) { $0.address = Self.address(carer, from: 5) }
            }
        }
        record.involvements = try involvements(ofChildRow: childRow, childID: id, db).map(\.involvement)
        return record
    }

    // MARK: Rows

    static func childID(_ value: Int64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// A random unused ContactPoint ID: IDs reveal neither order nor count.
    static func newChildID(_ db: Database) throws -> Int64 {
        while true {
            guard let id = ContactPointID(serial: Int.random(in: 100_000_000..<1_000_000_000)) else { continue }
            let value = Int64(id.digits)!
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM child WHERE id = ?"), arguments: [value]) == nil
            {
                return value
            }
        }
    }

    /// Deletes a child's other names, addresses, carers and search keys (not its row or involvements).
    func deleteDetails(ofChildRow row: Int64, _ db: Database) throws {
        guard let old = try record(row: row, db) else { return }
        for key in Self.searchKeys(old.child) {
            try db.cachedStatement(
                sql:
                    """
                    DELETE FROM search_key WHERE family_code = ? AND given_code = ? AND date_of_birth = ? AND \
                    child_row = ?
                    """
            )
            .execute(arguments: [key.family, key.given, old.child.dateOfBirth, row])
        }
        for table in ["child_other_name", "child_address", "carer"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE child_row = ?", arguments: [row])
        }
    }

    /// Writes a child's details: its row (replacing the one given) and the rows that hang off it,
    /// its search keys into `searchKeys` (`search_key`, or the staging table of an initial load). Returns the row.
    static func insertDetails(
        _ child: Contactpoint_V1_ChildDetails, id: Int64, row: Int64?, now: Int64, searchKeys table: String,
        _ db: Database
    ) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO child (row, id, given_name, family_name, date_of_birth, gender, local_authority, status, \
                updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (row) DO UPDATE SET given_name = excluded.given_name, family_name = excluded.family_name,
                    date_of_birth = excluded.date_of_birth, gender = excluded.gender, local_authority = \
                    excluded.local_authority,
                    status = excluded.status, updated_at = excluded.updated_at
                """
        ).execute(arguments: [
            row, id, child.name.given, child.name.family, child.dateOfBirth, child.gender.code, child.localAuthority,
            child.status.code, now,
        ])
        let row = row ?? db.lastInsertedRowID
        for (position, name) in child.otherNames.enumerated() {
            try db.cachedStatement(
                sql: "INSERT INTO child_other_name (child_row, position, given_name, family_name) VALUES (?, ?, ?, ?)"
            )
            .execute(arguments: [row, position, name.given, name.family])
        }
        let addresses = (child.hasAddress ? [child.address] : []) + child.previousAddresses
        // Without a current address, previous ones start at position 1.
        for (offset, address) in addresses.enumerated() {
            let position = child.hasAddress ? offset : offset + 1
            try db.cachedStatement(
                sql: """
                    INSERT INTO child_address (child_row, position, line1, line2, line3, line4, town, postcode) \
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: StatementArguments([row, Int64(position)]) + addressArguments(address))
        }
        for (position, carer) in child.carers.enumerated() {
            try db.cachedStatement(
                sql: """
                    INSERT INTO carer (child_row, position, given_name, family_name, relationship, \
                    parental_responsibility,
                        line1, line2, line3, line4, town, postcode, telephone)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: StatementArguments(
                    [
                        row, Int64(position), carer.name.given, carer.name.family, carer.relationship.code,
                        carer.parentalResponsibility,
                    ] as [(any DatabaseValueConvertible)?])
                    + (carer.hasAddress ? addressArguments(carer.address) : [nil, nil, nil, nil, nil, nil])
                    + [carer.telephone.isEmpty ? nil : carer.telephone])
        }
        for key in searchKeys(child) {
            try db.cachedStatement(
                sql:
                    """
                    INSERT OR IGNORE INTO \(table) (family_code, given_code, date_of_birth, child_row) VALUES (?, \
                    ?, ?, ?)
                    """
            )
            .execute(arguments: [key.family, key.given, child.dateOfBirth, row])
        }
        return row
    }

    private static func addressArguments(_ address: Contactpoint_V1_Address) -> StatementArguments {
        let lines = address.lines.map { Optional($0) } + [String?](repeating: nil, count: 4 - address.lines.count)
        return StatementArguments(lines + [address.town.isEmpty ? nil : address.town, address.postcode])
    }

    /// The columns ``address(_:from:)`` reads, in its order.
    static let addressColumns = "line1, line2, line3, line4, town, postcode"

    /// An address from ``addressColumns``, starting at column `first`.
    static func address(_ row: Row, from first: Int) -> Contactpoint_V1_Address {
        .with {
            $0.lines = (first..<first + 4).compactMap { row[$0] as String? }
            $0.town = row[first + 4] ?? ""
            $0.postcode = row[first + 5] ?? ""
        }
    }

    /// The (family, given) sound-code pairs under which a child is found: every part of its
    /// current and other family names with every part of the given names.
    static func searchKeys(_ child: Contactpoint_V1_ChildDetails) -> Set<SearchKey> {
        var keys: Set<SearchKey> = []
        for name in [child.name] + child.otherNames {
            let givenCodes = Set(NameMatching.parts(NameMatching.fold(name.given)).map(NameMatching.soundCode))
            for family in Set(NameMatching.parts(NameMatching.fold(name.family)).map(NameMatching.soundCode)) {
                for given in givenCodes { keys.insert(SearchKey(family: family, given: given)) }
            }
        }
        return keys
    }

    struct SearchKey: Hashable {
        var family: String
        var given: String
    }
}
