import Foundation
import GRDB

/// The identity database (`identity.sqlite`): organisations, practitioners and their roles,
/// vetting, credentials, sessions, and the outbox of events for the rest of the system.
///
/// One method per transaction that keeps the data consistent; constraints live in the schema.
/// Times are Unix seconds (UTC) passed in by the caller, so that tests control the clock. Every
/// change to an account writes its event to `outbox` in the same transaction.
struct IdentityStore: Sendable {
    private let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` in WAL mode with `synchronous=FULL`:
    /// an acknowledged write survives a crash or power loss.
    static func open(path: String) throws -> IdentityStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try IdentityStore(writer: DatabasePool(path: path, configuration: configuration))
    }

    /// An in-memory database, for tests of the logic above the store.
    static func inMemory() throws -> IdentityStore {
        try IdentityStore(writer: DatabaseQueue())
    }

    private init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Whether the database answers: the service's readiness check.
    func isAvailable() async -> Bool {
        (try? await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Schema

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: accounts, sessions, outbox") { db in
            let organisationTypes = OrganisationType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let roles = SystemRole.allCases.map { "'\($0.rawValue)'" }.joined(separator: ",")
            try db.execute(sql: """
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
                    status TEXT NOT NULL DEFAULT 'inactive' CHECK (status IN ('inactive','active','suspended','closed')),
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
                    CHECK (status IN ('inactive', 'closed') OR (password_hash IS NOT NULL AND totp_secret IS NOT NULL))
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
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN published_at INTEGER;
                CREATE INDEX outbox_unpublished ON outbox(sequence) WHERE published_at IS NULL;
                """)
        }
        return migrator
    }

    // MARK: Organisations

    func createOrganisation(_ organisation: Organisation, now: Int64) async throws {
        try await writer.write { db in try Self.insert(organisation, db, now: now) }
    }

    private static func insert(_ organisation: Organisation, _ db: Database, now: Int64) throws {
        try db.execute(
            sql: "INSERT INTO organisation (id, type, name, local_authority, is_active) VALUES (?, ?, ?, ?, ?)",
            arguments: [organisation.id, organisation.type.rawValue, organisation.name, organisation.localAuthority, organisation.isActive])
        try appendEvent(db, topic: "identity/organisation-created", subject: organisation.id, now: now)
    }

    /// Activates or deactivates an organisation; deactivating ends its practitioners' sessions.
    func setOrganisationActive(id: String, active: Bool, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE organisation SET is_active = ? WHERE id = ?", arguments: [active, id])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchOrganisation(id) }
            if !active {
                try db.execute(
                    sql: """
                        UPDATE session SET ended_at = ?, end_reason = 'organisation deactivated'
                        WHERE ended_at IS NULL AND practitioner_id IN (SELECT id FROM practitioner WHERE organisation_id = ?)
                        """,
                    arguments: [now, id])
            }
            try Self.appendEvent(db, topic: active ? "identity/organisation-activated" : "identity/organisation-deactivated", subject: id, now: now)
        }
    }

    func organisations() async throws -> [Organisation] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM organisation ORDER BY name").map(Self.organisation)
        }
    }

    // MARK: Practitioners

    /// Creates an inactive account that the practitioner activates with `enrolmentCodeHash`'s
    /// code before `enrolmentExpiresAt`.
    /// Throws ``IdentityStoreError/emailInUse`` if another account has the email.
    func createPractitioner(
        _ practitioner: Practitioner, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, now: Int64
    ) async throws {
        do {
            try await writer.write { db in
                try Self.insert(practitioner, enrolmentCodeHash: enrolmentCodeHash, enrolmentExpiresAt: enrolmentExpiresAt, db, now: now)
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE && error.message?.contains("email") == true {
            throw IdentityStoreError.emailInUse
        }
    }

    private static func insert(
        _ practitioner: Practitioner, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, _ db: Database, now: Int64
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO practitioner (id, organisation_id, name, email, job_role, crb_checked_on, crb_reference,
                    training_completed_on, agreement_accepted_on, enrolment_code_hash, enrolment_expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                practitioner.id, practitioner.organisationID, practitioner.name, practitioner.email, practitioner.jobRole,
                practitioner.vetting.criminalRecordsCheckedOn?.description, practitioner.vetting.criminalRecordsReference,
                practitioner.vetting.trainingCompletedOn?.description, practitioner.vetting.userAgreementAcceptedOn?.description,
                enrolmentCodeHash, enrolmentExpiresAt,
            ])
        for role in practitioner.roles {
            try db.execute(
                sql: "INSERT INTO practitioner_role (practitioner_id, role) VALUES (?, ?)", arguments: [practitioner.id, role.rawValue])
        }
        try appendEvent(db, topic: "identity/account-created", subject: practitioner.id, now: now)
    }

    func practitioner(id: String) async throws -> Practitioner? {
        try await writer.read { db in try Self.practitioner(db, where: "id = ?", id) }
    }

    /// What a login needs to decide: the account (by email, case-insensitively), its
    /// organisation, credentials and throttling state.
    struct LoginRecord: Sendable {
        var practitioner: Practitioner
        var organisation: Organisation
        var passwordHash: String?
        var sealedTOTPSecret: [UInt8]?
        var failedLogins: Int
        var throttledUntil: Int64
    }

    func loginRecord(email: String) async throws -> LoginRecord? {
        try await writer.read { db in try Self.loginRecord(db, where: "email = ?", email) }
    }

    func loginRecord(practitionerID: String) async throws -> LoginRecord? {
        try await writer.read { db in try Self.loginRecord(db, where: "id = ?", practitionerID) }
    }

    private static func loginRecord(_ db: Database, where condition: String, _ value: String) throws -> LoginRecord? {
            guard let practitioner = try Self.practitioner(db, where: condition, value),
                let organisation = try Row.fetchOne(db, sql: "SELECT * FROM organisation WHERE id = ?", arguments: [practitioner.organisationID])
                    .map(Self.organisation),
                let row = try Row.fetchOne(
                    db, sql: "SELECT password_hash, totp_secret, failed_logins, throttled_until FROM practitioner WHERE id = ?",
                    arguments: [practitioner.id])
            else { return nil }
            return LoginRecord(
                practitioner: practitioner, organisation: organisation, passwordHash: row["password_hash"],
                sealedTOTPSecret: (row["totp_secret"] as Data?).map(Array.init), failedLogins: row["failed_logins"],
                throttledUntil: row["throttled_until"])
    }

    /// Counts a failed login, sets the delay before the next attempt and records the failure
    /// for the audit trail, in one transaction; locks the account at `lockAfter` consecutive
    /// failures. Returns the count and whether the account is now locked.
    func recordFailedLogin(
        practitionerID: String, reason: String, now: Int64, lockAfter: Int, delay: @Sendable (Int) -> Int64
    ) async throws -> (failures: Int, locked: Bool) {
        try await writer.write { db in
            // Counted only while unlocked: concurrent failures cannot push the count past the lock.
            guard
                let failures = try Int.fetchOne(
                    db,
                    sql: """
                        UPDATE practitioner SET failed_logins = failed_logins + 1, is_locked = (failed_logins + 1 >= ?)
                        WHERE id = ? AND is_locked = 0 RETURNING failed_logins
                        """,
                    arguments: [lockAfter, practitionerID])
            else {
                try Self.appendEvent(db, topic: "identity/login-failed", subject: practitionerID, reason: reason, now: now)
                return (lockAfter, true)
            }
            try db.execute(
                sql: "UPDATE practitioner SET throttled_until = ? WHERE id = ?", arguments: [now + delay(failures), practitionerID])
            try Self.appendEvent(db, topic: "identity/login-failed", subject: practitionerID, reason: reason, now: now)
            let locked = failures >= lockAfter
            if locked {
                try Self.appendEvent(db, topic: "identity/account-locked", subject: practitionerID, reason: reason, now: now)
            }
            return (failures, locked)
        }
    }

    /// Accepts the TOTP time step `step` for the account if no code of that step or a later one
    /// has been accepted before: the check and the update are one statement, so of concurrent
    /// submissions of one code exactly one wins.
    func claimTOTPStep(practitionerID: String, step: UInt64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
                arguments: [Int64(step), practitionerID, Int64(step)])
            return db.changesCount == 1
        }
    }

    /// Starts a session after a successful login: resets the failure count.
    func startSession(
        id: String, practitionerID: String, now: Int64, idleExpiry: Int64, absoluteExpiry: Int64
    ) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET failed_logins = 0, throttled_until = 0 WHERE id = ?", arguments: [practitionerID])
            try db.execute(
                sql: """
                    INSERT INTO session (id, practitioner_id, started_at, absolute_expiry, idle_expiry, step_up_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, practitionerID, now, absoluteExpiry, idleExpiry, now])
            try Self.appendEvent(db, topic: "identity/session-started", subject: practitionerID, now: now)
        }
    }

    /// The enrolment code hash and its expiry, for an account still waiting to enrol.
    func pendingEnrolment(practitionerID: String) async throws -> (codeHash: String, expiresAt: Int64)? {
        try await writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT enrolment_code_hash, enrolment_expires_at FROM practitioner
                    WHERE id = ? AND status = 'inactive' AND enrolment_code_hash IS NOT NULL
                    """,
                arguments: [practitionerID]
            ).map { ($0["enrolment_code_hash"], $0["enrolment_expires_at"]) }
        }
    }

    /// Stores the credentials chosen in the first step of enrolment; the account stays inactive
    /// until ``activate(practitionerID:firstStep:now:)``. Starting again replaces them.
    func storePendingCredentials(practitionerID: String, passwordHash: String, sealedTOTPSecret: [UInt8]) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET password_hash = ?, totp_secret = ?
                    WHERE id = ? AND status = 'inactive' AND enrolment_code_hash IS NOT NULL
                    """,
                arguments: [passwordHash, Data(sealedTOTPSecret), practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
        }
    }

    /// The sealed TOTP secret of an account still enrolling.
    func pendingTOTPSecret(practitionerID: String) async throws -> [UInt8]? {
        try await writer.read { db in
            try Data.fetchOne(
                db, sql: "SELECT totp_secret FROM practitioner WHERE id = ? AND status = 'inactive'", arguments: [practitionerID]
            ).map(Array.init)
        }
    }

    /// Activates an enrolled account and spends its enrolment code. `firstStep` is the time step
    /// of the code that proved the authenticator: it cannot be used to log in.
    func activate(practitionerID: String, firstStep: UInt64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET status = 'active', totp_last_step = ?, enrolment_code_hash = NULL,
                        enrolment_expires_at = NULL
                    WHERE id = ? AND status = 'inactive' AND enrolment_code_hash IS NOT NULL
                        AND password_hash IS NOT NULL AND totp_secret IS NOT NULL
                    """,
                arguments: [Int64(firstStep), practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.appendEvent(db, topic: "identity/account-active", subject: practitionerID, now: now)
        }
    }

    /// Creates the first organisation and administrator of an empty system, in one transaction;
    /// `false` (and nothing written) if any account exists already.
    func bootstrap(
        organisation: Organisation, administrator: Practitioner, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, now: Int64
    ) async throws -> Bool {
        do {
            try await writer.write { db in
                guard try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM practitioner)") == true else {
                    throw BootstrapSkipped()
                }
                try Self.insert(organisation, db, now: now)
                try Self.insert(administrator, enrolmentCodeHash: enrolmentCodeHash, enrolmentExpiresAt: enrolmentExpiresAt, db, now: now)
            }
            return true
        } catch is BootstrapSkipped {
            return false
        }
    }

    private struct BootstrapSkipped: Error {}

    struct SessionRecord: Sendable, Equatable {
        var id: String
        var practitionerID: String
        var startedAt: Int64
        var absoluteExpiry: Int64
        var idleExpiry: Int64
        var stepUpAt: Int64?
        var endedAt: Int64?
    }

    func session(id: String) async throws -> SessionRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM session WHERE id = ?", arguments: [id]).map(Self.sessionRecord)
        }
    }

    private static func sessionRecord(_ row: Row) -> SessionRecord {
        SessionRecord(
            id: row["id"], practitionerID: row["practitioner_id"], startedAt: row["started_at"], absoluteExpiry: row["absolute_expiry"],
            idleExpiry: row["idle_expiry"], stepUpAt: row["step_up_at"], endedAt: row["ended_at"])
    }

    /// Extends a live session's idle expiry (never past its absolute expiry), and records a
    /// step-up when given. `false` if the session has ended or expired.
    func touchSession(id: String, now: Int64, idleExpiry: Int64, stepUp: Bool) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE session SET idle_expiry = min(?, absolute_expiry), step_up_at = CASE WHEN ? THEN ? ELSE step_up_at END
                    WHERE id = ? AND ended_at IS NULL AND idle_expiry > ? AND absolute_expiry > ?
                    """,
                arguments: [idleExpiry, stepUp, now, id, now, now])
            return db.changesCount == 1
        }
    }

    /// A practitioner's sessions that have neither ended nor expired at `now`, newest first.
    func liveSessions(practitionerID: String, now: Int64) async throws -> [SessionRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM session WHERE practitioner_id = ? AND ended_at IS NULL AND idle_expiry > ? AND absolute_expiry > ?
                    ORDER BY started_at DESC
                    """,
                arguments: [practitionerID, now, now]
            ).map(Self.sessionRecord)
        }
    }

    /// Ends the named sessions of one practitioner (never another's); returns how many ended.
    func endSessions(_ ids: [String], of practitionerID: String, reason: String, now: Int64) async throws -> Int {
        try await writer.write { db in
            var ended = 0
            for id in ids {
                try db.execute(
                    sql: "UPDATE session SET ended_at = ?, end_reason = ? WHERE id = ? AND practitioner_id = ? AND ended_at IS NULL",
                    arguments: [now, reason, id, practitionerID])
                ended += db.changesCount
            }
            return ended
        }
    }

    /// Ends a session (logout).
    func endSession(id: String, reason: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE session SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL", arguments: [now, reason, id])
        }
    }

    /// Sessions ended at or after `since`, oldest first: what verifiers in other services must
    /// stop accepting before the tokens' own expiry.
    func endedSessions(since: Int64) async throws -> [(sessionID: String, endedAt: Int64)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, ended_at FROM session WHERE ended_at >= ? ORDER BY ended_at", arguments: [since])
                .map { ($0["id"], $0["ended_at"]) }
        }
    }

    /// Changes an account's status: suspend an active one, reactivate a suspended one, close any.
    /// Suspending or closing ends every session it has. A closed account stays closed.
    func setStatus(practitionerID: String, to status: AccountStatus, now: Int64) async throws {
        let from: [AccountStatus] =
            switch status {
            case .suspended: [.active]
            case .active: [.suspended]
            case .closed: [.inactive, .active, .suspended]
            case .inactive: []
            }
        try await writer.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM practitioner WHERE id = ?)", arguments: [practitionerID]) == true
            else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try db.execute(
                sql: "UPDATE practitioner SET status = ? WHERE id = ? AND status IN (\(from.map { "'\($0.rawValue)'" }.joined(separator: ",")))",
                arguments: [status.rawValue, practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.transitionNotAllowed(to: status.rawValue) }
            if status == .suspended || status == .closed {
                try Self.endSessions(db, of: practitionerID, reason: "account \(status.rawValue)", now: now)
            }
            try Self.appendEvent(db, topic: "identity/account-\(status.rawValue)", subject: practitionerID, now: now)
        }
    }

    private static func endSessions(_ db: Database, of practitionerID: String, reason: String, now: Int64) throws {
        try db.execute(
            sql: "UPDATE session SET ended_at = ?, end_reason = ? WHERE practitioner_id = ? AND ended_at IS NULL",
            arguments: [now, reason, practitionerID])
    }

    /// Replaces an active account's password hash and ends every session but `keepingSession`.
    func changePassword(practitionerID: String, passwordHash: String, keepingSession: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET password_hash = ? WHERE id = ? AND status = 'active'",
                arguments: [passwordHash, practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try db.execute(
                sql: "UPDATE session SET ended_at = ?, end_reason = 'password changed' WHERE practitioner_id = ? AND id != ? AND ended_at IS NULL",
                arguments: [now, practitionerID, keepingSession])
            try Self.appendEvent(db, topic: "identity/password-changed", subject: practitionerID, now: now)
        }
    }

    /// Unlocks an account locked by failed logins, and forgets the failures.
    func unlock(practitionerID: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET is_locked = 0, failed_logins = 0, throttled_until = 0 WHERE id = ?",
                arguments: [practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.appendEvent(db, topic: "identity/account-unlocked", subject: practitionerID, now: now)
        }
    }

    /// Takes away an account's password and authenticator and ends its sessions: it must enrol
    /// again with the new code. A closed account cannot be reset.
    func resetCredentials(practitionerID: String, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET status = 'inactive', password_hash = NULL, totp_secret = NULL,
                        enrolment_code_hash = ?, enrolment_expires_at = ?, is_locked = 0, failed_logins = 0, throttled_until = 0
                    WHERE id = ? AND status != 'closed'
                    """,
                arguments: [enrolmentCodeHash, enrolmentExpiresAt, practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.endSessions(db, of: practitionerID, reason: "credentials reset", now: now)
            try Self.appendEvent(db, topic: "identity/credentials-reset", subject: practitionerID, now: now)
        }
    }

    func recordVetting(practitionerID: String, vetting: Vetting, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET crb_checked_on = ?, crb_reference = ?, training_completed_on = ?, agreement_accepted_on = ?
                    WHERE id = ?
                    """,
                arguments: [
                    vetting.criminalRecordsCheckedOn?.description, vetting.criminalRecordsReference,
                    vetting.trainingCompletedOn?.description, vetting.userAgreementAcceptedOn?.description, practitionerID,
                ])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.appendEvent(db, topic: "identity/vetting-recorded", subject: practitionerID, now: now)
        }
    }

    func organisation(id: String) async throws -> Organisation? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM organisation WHERE id = ?", arguments: [id]).map(Self.organisation)
        }
    }

    /// The practitioners of one organisation, or of every organisation in a local authority.
    func practitioners(organisationID: String?, localAuthority: String?) async throws -> [Practitioner] {
        try await writer.read { db in
            let ids = try String.fetchAll(
                db,
                sql: """
                    SELECT p.id FROM practitioner p JOIN organisation o ON o.id = p.organisation_id
                    WHERE (?1 IS NULL OR p.organisation_id = ?1) AND (?2 IS NULL OR o.local_authority = ?2)
                    ORDER BY p.name
                    """,
                arguments: [organisationID, localAuthority])
            return try ids.compactMap { try Self.practitioner(db, where: "id = ?", $0) }
        }
    }

    /// An authentication decision for the audit trail (`subject` is `nil` for an unknown account).
    func recordAuthenticationEvent(kind: String, subject: String?, reason: String?, now: Int64) async throws {
        try await writer.write { db in try Self.appendEvent(db, topic: "identity/\(kind)", subject: subject, reason: reason, now: now) }
    }

    /// Events not yet published on the bus, oldest first.
    func unpublishedEvents(limit: Int) async throws -> [(sequence: Int64, topic: String, payload: [UInt8])] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY sequence LIMIT ?",
                arguments: [limit]
            ).map { ($0["sequence"], $0["topic"], Array($0["payload"] as Data)) }
        }
    }

    func markPublished(through sequence: Int64, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE outbox SET published_at = ? WHERE published_at IS NULL AND sequence <= ?", arguments: [now, sequence])
        }
    }

    /// The events not yet delivered, oldest first.
    func undeliveredEvents(limit: Int = 100) async throws -> [(eventID: String, topic: String, payload: [UInt8])] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT event_id, topic, payload FROM outbox WHERE delivered_at IS NULL ORDER BY sequence LIMIT ?",
                arguments: [limit]
            ).map { ($0["event_id"], $0["topic"], Array($0["payload"] as Data)) }
        }
    }

    // MARK: Reading rows

    private static func practitioner(_ db: Database, where condition: String, _ value: String) throws -> Practitioner? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM practitioner WHERE \(condition)", arguments: [value]) else {
            return nil
        }
        let id: String = row["id"]
        let roles = try String.fetchAll(db, sql: "SELECT role FROM practitioner_role WHERE practitioner_id = ?", arguments: [id])
        return Practitioner(
            id: id, organisationID: row["organisation_id"], name: row["name"], email: row["email"], jobRole: row["job_role"],
            roles: Set(roles.compactMap(SystemRole.init(rawValue:))),
            status: AccountStatus(rawValue: row["status"]) ?? .closed,
            vetting: Vetting(
                criminalRecordsCheckedOn: (row["crb_checked_on"] as String?).flatMap(CalendarDate.init),
                criminalRecordsReference: row["crb_reference"],
                trainingCompletedOn: (row["training_completed_on"] as String?).flatMap(CalendarDate.init),
                userAgreementAcceptedOn: (row["agreement_accepted_on"] as String?).flatMap(CalendarDate.init)),
            isLocked: row["is_locked"])
    }

    private static func organisation(_ row: Row) -> Organisation {
        Organisation(
            id: row["id"], type: OrganisationType(rawValue: row["type"]) ?? .managementTeam, name: row["name"],
            localAuthority: row["local_authority"], isActive: row["is_active"])
    }

    /// An event for the audit trail and other services, committed with the change it records.
    /// Carries identifiers only: never a name, email, password, code or token.
    private static func appendEvent(
        _ db: Database, topic: String, subject: String?, reason: String? = nil, now: Int64
    ) throws {
        var fields: [String: Any] = ["at": now]
        fields["subject"] = subject
        fields["reason"] = reason
        let payload = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        try db.execute(
            sql: "INSERT INTO outbox (event_id, topic, payload, created_at) VALUES (?, ?, ?, ?)",
            arguments: [UUID().uuidString.lowercased(), topic, payload, now])
    }
}

enum IdentityStoreError: Error, Equatable {
    case noSuchAccount(String)
    case transitionNotAllowed(to: String)
    case emailInUse
    case noSuchOrganisation(String)
}
