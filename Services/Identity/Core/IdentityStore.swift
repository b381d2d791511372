import Foundation
import GRDB
import GRPCCore
import Identifiers
import StoreSupport
import Timekeeping
import Vocabulary

/// The identity database (`identity.sqlite`): organisations, practitioners and their roles,
/// vetting, credentials, sessions, and the outbox of events for the rest of the system.
///
/// One method per transaction that keeps the data consistent; constraints live in the schema.
/// Times are Unix seconds (UTC) passed in by the caller, so that tests control the clock. Every
/// change to an account writes its event to `outbox` in the same transaction.
struct IdentityStore: Sendable {
    let writer: any DatabaseWriter
    /// The administrator on whose behalf changes are made: recorded in their events.
    private(set) var actor: String?

    /// This store, recording `practitionerID` as the actor of the changes it makes.
    func acting(as practitionerID: String?) -> IdentityStore {
        var store = self
        store.actor = practitionerID
        return store
    }

    /// Opens (creating if needed) the database at `path` in WAL mode with `synchronous=FULL`:
    /// an acknowledged write survives a crash or power loss.
    static func open(path: String) throws -> IdentityStore {
        try IdentityStore(DurableDatabase.open(path: path))
    }

    /// The store on `writer`, brought up to the current schema: the database `open(path:)` makes,
    /// or, in tests that are not about durability, one in memory (`DatabaseQueue()`).
    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Whether the database answers: the service's readiness check.
    func isAvailable() async -> Bool {
        (try? await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: accounts, sessions, outbox") { db in
            let organisationTypes = OrganisationType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let roles = Role.all.map { "'\($0.name)'" }.joined(separator: ",")
            try db.execute(
                sql: """
                    CREATE TABLE organisation (
                        id TEXT PRIMARY KEY,
                        type TEXT NOT NULL CHECK (type IN (\(organisationTypes))),
                        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        local_authority TEXT NOT NULL CHECK (length(local_authority) BETWEEN 3 AND 12),
                        is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
                    ) STRICT;
                    CREATE TABLE practitioner (
                        id TEXT PRIMARY KEY,
                        organisation_id TEXT NOT NULL REFERENCES organisation(id),
                        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        email TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
                        job_role TEXT NOT NULL CHECK (length(job_role) BETWEEN 1 AND 100),
                        status TEXT NOT NULL DEFAULT 'inactive' CHECK (status IN \
                        ('inactive','active','suspended','closed')),
                        crb_checked_on TEXT,
                        crb_reference TEXT,
                        training_completed_on TEXT,
                        agreement_accepted_on TEXT,
                        password_hash TEXT,
                        totp_secret BLOB,
                        -- The newest TOTP time step accepted: a code of this step or older is refused.
                        totp_last_step INTEGER,
                        enrolment_code_hash TEXT,
                        enrolment_expires_at INTEGER,
                        failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
                        -- No attempt is considered before this time (the growing delay after failures).
                        throttled_until INTEGER NOT NULL DEFAULT 0,
                        is_locked INTEGER NOT NULL DEFAULT 0 CHECK (is_locked IN (0, 1)),
                        CHECK (status IN ('inactive', 'closed') OR (password_hash IS NOT NULL AND totp_secret IS NOT \
                        NULL))
                    ) STRICT;
                    CREATE TABLE practitioner_role (
                        practitioner_id TEXT NOT NULL REFERENCES practitioner(id),
                        role TEXT NOT NULL CHECK (role IN (\(roles))),
                        PRIMARY KEY (practitioner_id, role)
                    ) STRICT;
                    CREATE TABLE session (
                        id TEXT PRIMARY KEY,
                        practitioner_id TEXT NOT NULL REFERENCES practitioner(id),
                        started_at INTEGER NOT NULL,
                        absolute_expiry INTEGER NOT NULL,
                        idle_expiry INTEGER NOT NULL,
                        step_up_at INTEGER,
                        ended_at INTEGER,
                        end_reason TEXT
                    ) STRICT;
                    CREATE INDEX session_by_practitioner ON session(practitioner_id) WHERE ended_at IS NULL;
                    CREATE INDEX session_by_end ON session(ended_at) WHERE ended_at IS NOT NULL;
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE,
                        topic TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        delivered_at INTEGER
                    ) STRICT;
                    """)
        }
        migrator.registerMigration("2: events published to the bus") { db in
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN published_at INTEGER;
                    CREATE INDEX outbox_unpublished ON outbox(sequence) WHERE published_at IS NULL;
                    """)
        }
        migrator.registerMigration("3: security notices delivered to the notification service") { db in
            // Notices start with this version: events from before it are not turned into notices.
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN noticed_at INTEGER;
                    UPDATE outbox SET noticed_at = created_at;
                    CREATE INDEX outbox_unnoticed ON outbox(sequence) WHERE noticed_at IS NULL;
                    """)
        }
        migrator.registerMigration("4: the shared outbox design") { db in
            // Audit events and security notices move to the outboxes every service keeps
            // (OutboxTables), encoded as they are delivered; what was waiting goes across, and
            // the old table (JSON payloads, kept for good, published on the bus to nobody) goes.
            try db.execute(sql: OutboxTables.schema)
            let waiting = try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE delivered_at IS NULL OR noticed_at IS NULL ORDER BY sequence")
            for row in waiting {
                guard let event = IdentityEvent(legacyRow: row) else {
                    throw DatabaseError(message: "outbox event \(row["event_id"] as String) has an unknown topic")
                }
                if row["delivered_at"] as Int64? == nil { try OutboxTables.appendAudit(event.auditEvent, db) }
                if row["noticed_at"] as Int64? == nil, let notice = event.notice {
                    try OutboxTables.appendChange(notice, db)
                }
            }
            try db.execute(sql: "DROP TABLE outbox")
        }
        migrator.registerMigration("5: vetting notices told") { db in
            // Which lapse of which check each practitioner has been told of: each once, whichever
            // instance looks first.
            try db.execute(
                sql: """
                    CREATE TABLE vetting_notice (
                        practitioner_id TEXT NOT NULL REFERENCES practitioner(id),
                        crb_checked_on TEXT NOT NULL,
                        stage TEXT NOT NULL CHECK (stage IN ('lapses-soon', 'lapsed')),
                        told_at INTEGER NOT NULL,
                        PRIMARY KEY (practitioner_id, crb_checked_on, stage)
                    ) STRICT, WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("6: home postcode at vetting") { db in
            // Accounts vetted before it have none: the shares-surname-and-postcode rule does not
            // look at their disclosures until their vetting is recorded again with it.
            try db.execute(
                sql: """
                    ALTER TABLE practitioner ADD COLUMN home_postcode TEXT \
                    CHECK (length(home_postcode) BETWEEN 6 AND 8)
                    """)
        }
        migrator.registerMigration("7: agency gateways") { db in
            // A key is in force for one gateway at a time; a revoked gateway's row stays, as its record.
            try db.execute(
                sql: """
                    CREATE TABLE gateway (
                        id TEXT PRIMARY KEY,
                        organisation_id TEXT NOT NULL REFERENCES organisation(id),
                        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                        public_key TEXT NOT NULL CHECK (length(public_key) = 40),
                        reads_alerts INTEGER NOT NULL CHECK (reads_alerts IN (0, 1)),
                        acts_for_practitioners INTEGER NOT NULL CHECK (acts_for_practitioners IN (0, 1)),
                        registered_at INTEGER NOT NULL,
                        registered_by TEXT NOT NULL,
                        revoked_at INTEGER,
                        revoked_by TEXT
                    ) STRICT;
                    CREATE UNIQUE INDEX gateway_key_in_force ON gateway(public_key) WHERE revoked_at IS NULL;
                    -- The gateway a session was granted through: revoking it ends the session.
                    ALTER TABLE session ADD COLUMN gateway_id TEXT;
                    CREATE INDEX session_by_gateway ON session(gateway_id) WHERE gateway_id IS NOT NULL \
                    AND ended_at IS NULL;
                    """)
        }
        migrator.registerMigration("8: passkeys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE passkey (
                        credential_id BLOB PRIMARY KEY CHECK (length(credential_id) BETWEEN 1 AND 1023),
                        practitioner_id TEXT NOT NULL REFERENCES practitioner(id),
                        name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
                        public_key BLOB NOT NULL,
                        algorithm INTEGER NOT NULL CHECK (algorithm IN (-7, -8)),
                        sign_count INTEGER NOT NULL CHECK (sign_count >= 0),
                        attestation_format TEXT NOT NULL,
                        aaguid BLOB NOT NULL,
                        backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
                        created_at INTEGER NOT NULL,
                        last_used_at INTEGER
                    ) STRICT;
                    CREATE INDEX passkey_by_practitioner ON passkey(practitioner_id);
                    -- A challenge is used once (deleted when taken) and lives two minutes.
                    CREATE TABLE passkey_challenge (
                        id TEXT PRIMARY KEY,
                        practitioner_id TEXT NOT NULL REFERENCES practitioner(id),
                        purpose TEXT NOT NULL CHECK (purpose IN ('login', 'registration')),
                        challenge BLOB NOT NULL CHECK (length(challenge) = 32),
                        expires_at INTEGER NOT NULL
                    ) STRICT;
                    """)
        }
        return migrator
    }

    // MARK: Reading rows

    static func practitioner(_ db: Database, where condition: String, _ value: String) throws -> Practitioner? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM practitioner WHERE \(condition)", arguments: [value])
        else {
            return nil
        }
        let id: String = row["id"]
        let roles = try String.fetchAll(
            db, sql: "SELECT role FROM practitioner_role WHERE practitioner_id = ?", arguments: [id])
        return Practitioner(
            id: id, organisationID: row["organisation_id"], name: row["name"], email: row["email"],
            jobRole: row["job_role"],
            roles: Set(roles.compactMap(Role.init(name:))),
            status: AccountStatus(rawValue: row["status"]) ?? .closed,
            vetting: Vetting(
                criminalRecordsCheckedOn: (row["crb_checked_on"] as String?).flatMap(CalendarDay.init),
                criminalRecordsReference: row["crb_reference"],
                trainingCompletedOn: (row["training_completed_on"] as String?).flatMap(CalendarDay.init),
                userAgreementAcceptedOn: (row["agreement_accepted_on"] as String?).flatMap(CalendarDay.init),
                homePostcode: row["home_postcode"]),
            isLocked: row["is_locked"])
    }

    static func organisation(_ row: Row) -> Organisation {
        Organisation(
            id: row["id"], type: OrganisationType(rawValue: row["type"]) ?? .managementTeam, name: row["name"],
            localAuthority: row["local_authority"], isActive: row["is_active"])
    }
}

enum IdentityStoreError: Error, Equatable, RPCErrorConvertible {
    case noSuchAccount(String)
    case accountClosed(String)
    case transitionNotAllowed(from: String, to: String)
    case emailInUse
    case noSuchOrganisation(String)
    case organisationExists(String)
    case gatewayKeyInUse
    case noSuchGateway(String)
    case passkeyRegistered

    var rpcErrorCode: RPCError.Code {
        switch self {
        case .noSuchAccount, .noSuchOrganisation, .noSuchGateway: .notFound
        case .accountClosed, .transitionNotAllowed: .failedPrecondition
        case .emailInUse, .organisationExists, .gatewayKeyInUse, .passkeyRegistered: .alreadyExists
        }
    }

    var rpcErrorMessage: String {
        switch self {
        case .noSuchAccount(let id): "practitioner_id: no account \(id)"
        case .accountClosed: "a closed account cannot be reset"
        case .transitionNotAllowed(let from, let to): "a \(from) account cannot become \(to)"
        case .emailInUse: "an account with that email exists"
        case .noSuchOrganisation(let id): "organisation_id: no organisation \(id)"
        case .organisationExists(let id):
            "name: the authority already has an active organisation of that type and name (\(id)): use it"
        case .gatewayKeyInUse: "public_key: a gateway in force has this key: revoke it first, or make a new key"
        case .noSuchGateway(let id): "gateway_id: no gateway \(id)"
        case .passkeyRegistered: "this passkey is registered already"
        }
    }
}
