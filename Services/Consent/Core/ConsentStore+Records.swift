import ContactPointAPI
import Foundation
import GRDB
import RecordFields
import StoreSupport
import Timekeeping
import Vocabulary

/// Recording, withdrawing and reading consents and overrides, and the decisions they make.
/// `today` is `YYYY-MM-DD`: a record applies through its `expires_on`.
extension ConsentStore {
    /// Who makes a change.
    struct Actor: Sendable {
        var practitionerID: String
        var organisationID: String
    }

    /// Stores a validated consent or override with its audit event and its change event, in one
    /// transaction; returns it as stored, with its id.
    func record(
        _ record: Contactpoint_V1_ConsentRecord, by actor: Actor, now: Int64, today: String,
        audit: Contactpoint_V1_AuditEvent, write: IdempotentWrite? = nil
    ) async throws -> Contactpoint_V1_ConsentRecord {
        try await writer.writeOnce(write, at: Instant(milliseconds: now)) { db in
            func text(_ value: String) -> String? { value.isEmpty ? nil : value }
            let isConsent = record.kind == .consent
            try db.execute(
                sql: """
                    INSERT INTO consent (child_id, kind, giver, giver_given_name, giver_family_name, \
                    capacity_assessed_on, given_on,
                        justification, parent_told, parent_not_told_reason, expires_on, recorded_by, \
                        recorded_by_organisation, recorded_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.childID, record.kind.code, record.giver.code, text(record.giverName.given),
                    text(record.giverName.family),
                    text(record.capacityAssessedOn), text(record.givenOn), record.justification.code,
                    isConsent ? nil : record.parentTold,
                    record.parentNotToldReason.code, text(record.expiresOn), actor.practitionerID, actor.organisationID,
                    now,
                ])
            let id = db.lastInsertedRowID
            for type in record.scope {
                try db.execute(
                    sql: "INSERT INTO consent_scope (consent_id, service_type) VALUES (?, ?)",
                    arguments: [id, type.code])
            }
            let stored = try Self.consent(id: id, today: today, db)!
            try Self.appendEvents(
                for: stored, change: record.kind == .override ? .overrideRecorded : .consentRecorded, by: actor,
                now: now, audit: audit, db)
            return stored
        }
    }

    /// Withdraws a consent or ends an override, with its audit and change events, in one
    /// transaction. A withdrawal is final: a second one is ``ConsentStoreError/alreadyWithdrawn(_:)``.
    func withdraw(
        id: Int64, by actor: Actor, now: Int64, today: String, audit: Contactpoint_V1_AuditEvent,
        write: IdempotentWrite? = nil
    ) async throws -> Contactpoint_V1_ConsentRecord {
        try await writer.writeOnce(write, at: Instant(milliseconds: now)) { db in
            try db.execute(
                sql: "UPDATE consent SET withdrawn_by = ?, withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
                arguments: [actor.practitionerID, now, id])
            guard db.changesCount == 1 else {
                guard try Self.consent(id: id, today: today, db) != nil else {
                    throw ConsentStoreError.noSuchConsent(String(id))
                }
                throw ConsentStoreError.alreadyWithdrawn(String(id))
            }
            let stored = try Self.consent(id: id, today: today, db)!
            try Self.appendEvents(
                for: stored, change: stored.kind == .override ? .overrideWithdrawn : .consentWithdrawn, by: actor,
                now: now, audit: audit, db)
            return stored
        }
    }

    func consent(id: Int64, today: String) async throws -> Contactpoint_V1_ConsentRecord? {
        try await writer.read { db in try Self.consent(id: id, today: today, db) }
    }

    /// A child's consents and overrides, newest first.
    func consents(ofChild childID: String, today: String) async throws -> [Contactpoint_V1_ConsentRecord] {
        try await writer.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM consent WHERE child_id = ? ORDER BY id DESC", arguments: [childID])
            return try rows.map { try Self.consent($0, today: today, db) }
        }
    }

    /// The decision for each service type, in the order given: allowed by a standing consent
    /// (the newest), else by a standing override (the newest), else denied. A service type that
    /// is not sensitive needs no consent and is always allowed.
    func decisions(
        childID: String, serviceTypes: [Contactpoint_V1_ServiceType], today: String
    ) async throws -> [Contactpoint_V1_ServiceDecision] {
        let standing = try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT consent.id, consent.kind, consent_scope.service_type
                        FROM consent JOIN consent_scope ON consent_scope.consent_id = consent.id
                        WHERE consent.child_id = ? AND consent.withdrawn_at IS NULL AND (consent.expires_on IS NULL \
                        OR consent.expires_on >= ?)
                        ORDER BY consent.kind = 'consent' DESC, consent.id DESC
                        """),
                arguments: [childID, today]
            ).map { (id: $0["id"] as Int64, kind: $0["kind"] as String, serviceType: $0["service_type"] as String) }
        }
        return serviceTypes.map { type in
            .with {
                $0.serviceType = type
                if !type.isSensitive {
                    $0.decision = .allowed
                } else if let basis = standing.first(where: { $0.serviceType == type.code }) {
                    $0.decision = basis.kind == "consent" ? .allowed : .allowedByOverride
                    $0.basisConsentID = String(basis.id)
                } else {
                    $0.decision = .denied
                }
            }
        }
    }

    // MARK: Rows

    static func consent(id: Int64, today: String, _ db: Database) throws -> Contactpoint_V1_ConsentRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM consent WHERE id = ?", arguments: [id]).map {
            try consent($0, today: today, db)
        }
    }

    static func consent(_ row: Row, today: String, _ db: Database) throws -> Contactpoint_V1_ConsentRecord {
        let id: Int64 = row["id"]
        let scope = try String.fetchAll(
            db.cachedStatement(sql: "SELECT service_type FROM consent_scope WHERE consent_id = ?"), arguments: [id]
        )
        .compactMap { Contactpoint_V1_ServiceType(code: $0) }
        .sorted { $0.rawValue < $1.rawValue }
        return .with {
            $0.consentID = String(id)
            $0.childID = row["child_id"]
            $0.kind = Contactpoint_V1_ConsentKind(code: row["kind"]) ?? .unspecified
            $0.scope = scope
            if let giver: String = row["giver"] { $0.giver = Contactpoint_V1_ConsentGiver(code: giver) ?? .unspecified }
            if let given: String = row["giver_given_name"], let family: String = row["giver_family_name"] {
                $0.giverName = .with {
                    $0.given = given
                    $0.family = family
                }
            }
            $0.capacityAssessedOn = row["capacity_assessed_on"] ?? ""
            $0.givenOn = row["given_on"] ?? ""
            if let justification: String = row["justification"] {
                $0.justification = Contactpoint_V1_OverrideJustification(code: justification) ?? .unspecified
            }
            $0.parentTold = row["parent_told"] ?? false
            if let reason: String = row["parent_not_told_reason"] {
                $0.parentNotToldReason = Contactpoint_V1_ParentNotToldReason(code: reason) ?? .unspecified
            }
            $0.expiresOn = row["expires_on"] ?? ""
            $0.recordedBy = row["recorded_by"]
            $0.recordedByOrganisation = row["recorded_by_organisation"]
            $0.recordedAtMs = row["recorded_at"]
            $0.withdrawnBy = row["withdrawn_by"] ?? ""
            $0.withdrawnAtMs = row["withdrawn_at"] ?? 0
            $0.status =
                if $0.withdrawnAtMs != 0 { .withdrawn } else if !$0.expiresOn.isEmpty, $0.expiresOn < today {
                    .expired
                } else { .active }
        }
    }
}
