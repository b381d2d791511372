import ContactPointAPI
import Foundation
import GRDB
import GRPCCore
import RecordFields
import StoreSupport

/// The consent database (`consent.sqlite`): consents and named-person overrides with their
/// scopes, and two outboxes — audit events for the audit trail, change events for the
/// notification service — each written in the transaction of the change it records.
///
/// One method per transaction; the rules a row must keep (a consent has a giver and a date, an
/// override a justification and, if the parent was not told, why not; a withdrawal is final)
/// live in the schema, so no code path can store a half-made record.
public struct ConsentStore: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` in WAL mode with `synchronous=FULL`:
    /// an acknowledged change survives a crash or power loss.
    public static func open(path: String) throws -> ConsentStore {
        try ConsentStore(DurableDatabase.open(path: path))
    }

    /// The store on `writer`, brought up to the current schema: the database `open(path:)` makes,
    /// or, in tests that are not about durability, one in memory (`DatabaseQueue()`).
    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Whether the database answers: the service's readiness check.
    func isAvailable() async -> Bool { await DurableDatabase.isAvailable(writer) }

    // MARK: Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: consents, overrides, outboxes") { db in
            let date = "GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'"
            let name = "CHECK (length(%@) BETWEEN 1 AND 100)"
            let sensitive = Contactpoint_V1_ServiceType.sensitiveCodes.map { "'\($0)'" }.joined(separator: ",")
            try db.execute(
                sql: """
                    CREATE TABLE consent (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        child_id TEXT NOT NULL CHECK (length(child_id) = 10 AND child_id NOT GLOB '*[^0-9]*'),
                        kind TEXT NOT NULL CHECK (kind IN (\(Contactpoint_V1_ConsentKind.sqlList))),
                        giver TEXT CHECK (giver IN (\(Contactpoint_V1_ConsentGiver.sqlList))),
                        giver_given_name TEXT \(String(format: name, "giver_given_name")),
                        giver_family_name TEXT \(String(format: name, "giver_family_name")),
                        capacity_assessed_on TEXT CHECK (capacity_assessed_on \(date)),
                        given_on TEXT CHECK (given_on \(date)),
                        justification TEXT CHECK (justification IN (\(Contactpoint_V1_OverrideJustification.sqlList))),
                        parent_told INTEGER CHECK (parent_told IN (0, 1)),
                        parent_not_told_reason TEXT CHECK (parent_not_told_reason IN \
                        (\(Contactpoint_V1_ParentNotToldReason.sqlList))),
                        expires_on TEXT CHECK (expires_on \(date)),
                        recorded_by TEXT NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 64),
                        recorded_by_organisation TEXT NOT NULL CHECK (length(recorded_by_organisation) BETWEEN 1 AND \
                        64),
                        recorded_at INTEGER NOT NULL,
                        withdrawn_by TEXT CHECK (length(withdrawn_by) BETWEEN 1 AND 64),
                        withdrawn_at INTEGER,
                        CHECK ((withdrawn_by IS NULL) = (withdrawn_at IS NULL)),
                        -- A consent: who gave it (a parent by name, the child with the date of their assessment) and \
                        when.
                        CHECK (kind != 'consent' OR (
                            given_on IS NOT NULL AND justification IS NULL AND parent_told IS NULL AND \
                            parent_not_told_reason IS NULL
                            AND ((giver = 'parent' AND giver_given_name IS NOT NULL AND giver_family_name IS NOT NULL \
                            AND capacity_assessed_on IS NULL)
                                OR (giver = 'child' AND giver_given_name IS NULL AND giver_family_name IS NULL AND \
                                capacity_assessed_on IS NOT NULL)))),
                        -- An override: its justification, and why the parent was not told if they were not.
                        CHECK (kind != 'override' OR (
                            giver IS NULL AND giver_given_name IS NULL AND giver_family_name IS NULL AND \
                            capacity_assessed_on IS NULL
                            AND given_on IS NULL AND justification IS NOT NULL AND parent_told IS NOT NULL
                            AND (parent_told = 1) = (parent_not_told_reason IS NULL)))
                    ) STRICT;
                    CREATE INDEX consent_by_child ON consent(child_id);
                    CREATE TABLE consent_scope (
                        consent_id INTEGER NOT NULL REFERENCES consent(id),
                        service_type TEXT NOT NULL CHECK (service_type IN (\(sensitive))),
                        PRIMARY KEY (consent_id, service_type)
                    ) STRICT, WITHOUT ROWID;
                    -- Records are never deleted, and only a withdrawal changes one, once.
                    CREATE TRIGGER consent_kept BEFORE DELETE ON consent
                    BEGIN SELECT RAISE(ABORT, 'consent records are kept'); END;
                    CREATE TRIGGER consent_scope_kept BEFORE DELETE ON consent_scope
                    BEGIN SELECT RAISE(ABORT, 'consent records are kept'); END;
                    CREATE TRIGGER consent_scope_fixed BEFORE UPDATE ON consent_scope
                    BEGIN SELECT RAISE(ABORT, 'a consent''s scope does not change'); END;
                    CREATE TRIGGER consent_withdrawal_only BEFORE UPDATE ON consent
                    WHEN OLD.withdrawn_at IS NOT NULL
                        OR NEW.id IS NOT OLD.id OR NEW.child_id IS NOT OLD.child_id OR NEW.kind IS NOT OLD.kind
                        OR NEW.giver IS NOT OLD.giver OR NEW.giver_given_name IS NOT OLD.giver_given_name
                        OR NEW.giver_family_name IS NOT OLD.giver_family_name OR NEW.capacity_assessed_on IS NOT \
                        OLD.capacity_assessed_on
                        OR NEW.given_on IS NOT OLD.given_on OR NEW.justification IS NOT OLD.justification
                        OR NEW.parent_told IS NOT OLD.parent_told OR NEW.parent_not_told_reason IS NOT \
                        OLD.parent_not_told_reason
                        OR NEW.expires_on IS NOT OLD.expires_on OR NEW.recorded_by IS NOT OLD.recorded_by
                        OR NEW.recorded_by_organisation IS NOT OLD.recorded_by_organisation OR NEW.recorded_at IS NOT \
                        OLD.recorded_at
                    BEGIN SELECT RAISE(ABORT, 'a consent record changes only by its withdrawal, once'); END;
                    """)
            // Change events: encoded contactpoint.v1.ConsentChangeEvent.
            try db.execute(sql: OutboxTables.schema)
        }
        migrator.registerMigration("2: idempotent writes") { db in try db.execute(sql: IdempotentWrites.schema) }
        return migrator
    }
}

enum ConsentStoreError: Error, Equatable, RPCErrorConvertible {
    case noSuchConsent(String)
    case alreadyWithdrawn(String)

    var rpcErrorCode: RPCError.Code {
        switch self {
        case .noSuchConsent: .notFound
        case .alreadyWithdrawn: .failedPrecondition
        }
    }

    var rpcErrorMessage: String {
        switch self {
        case .noSuchConsent(let id): "consent_id: no consent or override \(id)"
        case .alreadyWithdrawn(let id): "consent_id: \(id) was already withdrawn"
        }
    }
}
