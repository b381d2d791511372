import ContactPointAPI
import Foundation
import GRDB
import Identifiers
import StoreSupport
import Timekeeping
import Vocabulary

extension IndexStore {
    /// Records an involvement (validated; its organisation the caller's) with its audit event and
    /// its change event for the notification service, in one transaction.
    func recordInvolvement(
        _ involvement: Contactpoint_V1_InvolvementDetails, childID: ContactPointID, by practitionerID: String,
        now: Int64,
        audit: Contactpoint_V1_AuditEvent, write: IdempotentWrite? = nil
    ) async throws -> Contactpoint_V1_Involvement {
        defer { changesWritten.signal() }
        return try await writer.writeOnce(write, at: Instant(milliseconds: now)) { db in
            let child = Int64(childID.digits)!
            guard let row = try Self.row(ofChild: child, db) else { throw IndexStoreError.noSuchChild(childID.digits) }
            let bornOn = try String.fetchOne(
                db.cachedStatement(sql: "SELECT date_of_birth FROM child WHERE row = ?"), arguments: [row])
            if let bornOn, involvement.startDate < bornOn { throw IndexStoreError.startBeforeBirth }
            let id = try Self.insertInvolvement(involvement, childRow: row, recordedBy: practitionerID, now: now, db)
            try appendChange(
                .involvementRecorded, childID: child, involvementID: id, organisationID: involvement.organisationID,
                serviceType: involvement.serviceType, by: practitionerID, now: now, db)
            try appendAudit(audit, childID: child, involvementID: id, db)
            return try self.involvement(id: id, db)
        }
    }

    /// The changes a practitioner's organisation may make to its own involvements.
    enum InvolvementChange: Sendable {
        case end(on: String)
        case indicator(Contactpoint_V1_IndicatorKind, raised: Bool, on: String)
        case lead(Bool)
    }

    /// Applies `change` to an involvement of `organisationID`, with its audit and change events.
    func change(
        involvement involvementID: String, _ change: InvolvementChange, organisationID: String,
        by practitionerID: String, now: Int64,
        audit: Contactpoint_V1_AuditEvent, write: IdempotentWrite? = nil
    ) async throws -> Contactpoint_V1_Involvement {
        defer { changesWritten.signal() }
        return try await writer.writeOnce(write, at: Instant(milliseconds: now)) { db in
            guard let id = involvementIDs.row(ofID: involvementID),
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql:
                            """
                            SELECT i.*, c.id AS child_id FROM involvement i JOIN child c ON c.row = i.child_row \
                            WHERE i.id = ?
                            """
                    ),
                    arguments: [id])
            else { throw IndexStoreError.noSuchInvolvement(involvementID) }
            guard row["organisation_id"] as String == organisationID else { throw IndexStoreError.notYourOrganisation }
            let childID: Int64 = row["child_id"]
            let childRow: Int64 = row["child_row"]
            let changeKind: ChangeKind
            var indicator = Contactpoint_V1_IndicatorKind.unspecified
            switch change {
            case .end(let date):
                guard row["end_date"] as String? == nil else { throw IndexStoreError.alreadyEnded(involvementID) }
                guard date >= row["start_date"] as String else { throw IndexStoreError.endBeforeStart }
                try db.execute(
                    sql: "UPDATE involvement SET end_date = ?, is_lead = 0 WHERE id = ?", arguments: [date, id])
                changeKind = .involvementEnded
            case .indicator(let kind, let raised, let date):
                guard row["end_date"] as String? == nil else { throw IndexStoreError.alreadyEnded(involvementID) }
                indicator = kind
                if raised {
                    try db.execute(
                        sql:
                            """
                            INSERT OR REPLACE INTO indicator (involvement_id, kind, raised_on, raised_by) VALUES \
                            (?, ?, ?, ?)
                            """,
                        arguments: [id, kind.code, date, practitionerID])
                } else {
                    try db.execute(
                        sql: "DELETE FROM indicator WHERE involvement_id = ? AND kind = ?", arguments: [id, kind.code])
                }
                changeKind = raised ? .indicatorRaised : .indicatorCleared
            case .lead(let lead):
                guard row["end_date"] as String? == nil else { throw IndexStoreError.alreadyEnded(involvementID) }
                // One lead professional per child: marking this one unmarks any other.
                if lead {
                    try db.execute(sql: "UPDATE involvement SET is_lead = 0 WHERE child_row = ?", arguments: [childRow])
                }
                try db.execute(sql: "UPDATE involvement SET is_lead = ? WHERE id = ?", arguments: [lead, id])
                changeKind = lead ? .leadProfessionalSet : .leadProfessionalCleared
            }
            try appendChange(
                changeKind, childID: childID, involvementID: id, organisationID: organisationID,
                serviceType: Contactpoint_V1_ServiceType(code: row["service_type"]) ?? .unspecified,
                indicator: indicator, by: practitionerID,
                now: now, db)
            try appendAudit(audit, childID: childID, involvementID: id, db)
            return try involvement(id: id, db)
        }
    }

    /// Shields or unshields a child, with its audit event.
    /// Shielding also tells the notification service (a `record-shielded` change event), which
    /// takes from the alerts already in inboxes what says where the child is.
    func setShield(_ shielded: Bool, childID: ContactPointID, audit: Contactpoint_V1_AuditEvent) async throws {
        defer { changesWritten.signal() }
        try await writer.write { db in
            let id = Int64(childID.digits)!
            try db.execute(sql: "UPDATE child SET is_shielded = ? WHERE id = ?", arguments: [shielded, id])
            guard db.changesCount == 1 else { throw IndexStoreError.noSuchChild(childID.digits) }
            try appendAudit(audit, childID: id, involvementID: nil, db)
            if shielded {
                try OutboxTables.appendChange(
                    Contactpoint_V1_IndexChangeEvent.with {
                        $0.eventID = EventID.make()
                        $0.occurredAtMs = audit.occurredAtMs
                        $0.change = ChangeKind.recordShielded.description
                        $0.childID = Self.childID(id)
                        $0.practitionerID = audit.actor.practitionerID
                    }, db)
            }
        }
    }

    /// A child's local authority, or `nil` for an unknown child.
    func localAuthority(ofChild childID: ContactPointID) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(
                db, sql: "SELECT local_authority FROM child WHERE id = ?", arguments: [Int64(childID.digits)!])
        }
    }

    /// A child's local authority and status, and whether `organisationID` has an involvement with
    /// it that has not ended; `nil` for a child not on the index.
    func standing(ofChild childID: ContactPointID, organisationID: String) async throws
        -> Contactpoint_V1_ChildStandingResponse?
    {
        try await writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT local_authority, status, date_of_birth, is_shielded, EXISTS (
                            SELECT 1 FROM involvement WHERE child_row = child.row AND organisation_id = ? AND \
                            end_date IS NULL
                        ) AS involved
                        FROM child WHERE id = ?
                        """,
                    arguments: [organisationID, Int64(childID.digits)!])
            else { return nil }
            return .with {
                $0.localAuthority = row["local_authority"]
                $0.status = Contactpoint_V1_ChildStatus(code: row["status"]) ?? .unspecified
                $0.organisationInvolved = row["involved"]
                $0.dateOfBirth = row["date_of_birth"]
                $0.shielded = row["is_shielded"]
            }
        }
    }

    // MARK: Rows

    static func insertInvolvement(
        _ involvement: Contactpoint_V1_InvolvementDetails, childRow: Int64, recordedBy: String, now: Int64,
        _ db: Database
    ) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO involvement (child_row, service_type, organisation_id, organisation_name, contact_name, \
                contact_role,
                    contact_telephone, contact_email, start_date, recorded_by, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            childRow, involvement.serviceType.code, involvement.organisationID, involvement.organisationName,
            involvement.contact.name,
            involvement.contact.role, involvement.contact.telephone.isEmpty ? nil : involvement.contact.telephone,
            involvement.contact.secureEmail.isEmpty ? nil : involvement.contact.secureEmail, involvement.startDate,
            recordedBy, now,
        ])
        return db.lastInsertedRowID
    }

    func involvement(id: Int64, _ db: Database) throws -> Contactpoint_V1_Involvement {
        try Self.decodeRows(
            db.cachedStatement(
                sql:
                    """
                    SELECT \(Self.involvementColumns), c.id FROM involvement i JOIN child c ON c.row = i.child_row \
                    WHERE i.id = ?
                    """
            ), [id]
        ) { row in
            try involvement(
                row, childID: row[Self.involvementColumnCount], indicators: Self.indicators(ofInvolvement: id, db)
            ).involvement
        }[0]
    }

    /// A child's involvements (those not ended if `current`), oldest first, each with who recorded it.
    func involvements(ofChildRow childRow: Int64, childID: Int64, current: Bool = false, _ db: Database) throws
        -> [(involvement: Contactpoint_V1_Involvement, recordedBy: String)]
    {
        // All the child's indicators in one query, rather than one query per involvement.
        let indicators = try Dictionary(
            grouping: Self.decodeRows(
                db.cachedStatement(
                    sql: """
                        SELECT n.involvement_id, \(Self.indicatorColumns) FROM indicator n JOIN involvement i ON i.id = \
                        n.involvement_id
                        WHERE i.child_row = ? ORDER BY n.involvement_id, n.kind
                        """),
                [childRow]
            ) { row in (involvement: row[0] as Int64, indicator: Self.indicator(row, from: 1)) },
            by: \.involvement)
        let sql =
            """
            SELECT \(Self.involvementColumns) FROM involvement i WHERE i.child_row = \
            ?\(current ? " AND i.end_date IS NULL" : "") ORDER BY i.id
            """
        return try Self.decodeRows(db.cachedStatement(sql: sql), [childRow]) { row in
            involvement(row, childID: childID, indicators: (indicators[row[0]] ?? []).map(\.indicator))
        }
    }

    /// The columns ``involvement(_:childID:indicators:)`` reads, in its order, of `involvement i`.
    private static let involvementColumns = """
        i.id, i.service_type, i.organisation_id, i.organisation_name, i.contact_name, i.contact_role, \
        i.contact_telephone, \
        i.contact_email, i.start_date, i.end_date, i.is_lead, i.recorded_by
        """
    private static let involvementColumnCount = involvementColumns.split(separator: ",").count

    /// An involvement from a row of ``involvementColumns``, and who recorded it.
    private func involvement(_ row: Row, childID: Int64, indicators: [Contactpoint_V1_Indicator])
        -> (involvement: Contactpoint_V1_Involvement, recordedBy: String)
    {
        let type = Contactpoint_V1_ServiceType(code: row[1]) ?? .unspecified
        let involvement = Contactpoint_V1_Involvement.with {
            $0.involvementID = involvementIDs.id(ofRow: row[0])
            $0.childID = Self.childID(childID)
            $0.serviceType = type
            $0.sensitive = type.isSensitive
            $0.organisationID = row[2]
            $0.organisationName = row[3]
            $0.contact = .with {
                $0.name = row[4]
                $0.role = row[5]
                $0.telephone = row[6] ?? ""
                $0.secureEmail = row[7] ?? ""
            }
            $0.startDate = row[8]
            $0.endDate = row[9] ?? ""
            $0.leadProfessional = row[10]
            $0.indicators = indicators
        }
        return (involvement, row[11])
    }

    private static func indicators(ofInvolvement id: Int64, _ db: Database) throws -> [Contactpoint_V1_Indicator] {
        try decodeRows(
            db.cachedStatement(
                sql: "SELECT \(indicatorColumns) FROM indicator n WHERE n.involvement_id = ? ORDER BY n.kind"), [id]
        ) { row in
            Self.indicator(row, from: 0)
        }
    }

    private static let indicatorColumns = "n.kind, n.raised_on, n.raised_by"

    /// An indicator from ``indicatorColumns``, starting at column `first`.
    private static func indicator(_ row: Row, from first: Int) -> Contactpoint_V1_Indicator {
        .with {
            $0.kind = Contactpoint_V1_IndicatorKind(code: row[first]) ?? .unspecified
            $0.raisedOn = row[first + 1]
            $0.raisedBy = row[first + 2]
        }
    }
}
