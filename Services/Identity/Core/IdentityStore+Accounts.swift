import Foundation
import GRDB
import Vocabulary

/// Organisations and practitioner accounts: creation, enrolment, credentials, lifecycle.
extension IdentityStore {
    // MARK: Organisations

    /// Creates an organisation; ALREADY_EXISTS when the authority has an active one of that type
    /// and name (a second would split its practitioners and alerts between two inboxes).
    func createOrganisation(_ organisation: Organisation, now: Int64) async throws {
        try await writer.write { db in
            if let existing = try String.fetchOne(
                db,
                sql: """
                    SELECT id FROM organisation WHERE local_authority = ? AND type = ? AND name = ? COLLATE NOCASE \
                    AND is_active
                    """,
                arguments: [organisation.localAuthority, organisation.type.rawValue, organisation.name])
            {
                throw IdentityStoreError.organisationExists(existing)
            }
            try Self.insert(organisation, db, actor: actor, now: now)
        }
    }

    static func insert(_ organisation: Organisation, _ db: Database, actor: String?, now: Int64) throws {
        try db.execute(
            sql: "INSERT INTO organisation (id, type, name, local_authority, is_active) VALUES (?, ?, ?, ?, ?)",
            arguments: [
                organisation.id, organisation.type.rawValue, organisation.name, organisation.localAuthority,
                organisation.isActive,
            ])
        try appendEvent(db, .organisationCreated, subject: organisation.id, actor: actor, now: now)
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
                        WHERE ended_at IS NULL AND practitioner_id IN (SELECT id FROM practitioner WHERE \
                        organisation_id = ?)
                        """,
                    arguments: [now, id])
            }
            try Self.appendEvent(
                db, active ? .organisationActivated : .organisationDeactivated,
                subject: id, actor: actor, now: now)
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
                try Self.insert(
                    practitioner, enrolmentCodeHash: enrolmentCodeHash, enrolmentExpiresAt: enrolmentExpiresAt, db,
                    actor: actor, now: now)
            }
        } catch let error as DatabaseError
            where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE && error.message?.contains("email") == true
        {
            throw IdentityStoreError.emailInUse
        }
    }

    static func insert(
        _ practitioner: Practitioner, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, _ db: Database,
        actor: String?, now: Int64
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO practitioner (id, organisation_id, name, email, job_role, crb_checked_on, crb_reference,
                    training_completed_on, agreement_accepted_on, home_postcode, enrolment_code_hash,
                    enrolment_expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                practitioner.id, practitioner.organisationID, practitioner.name, practitioner.email,
                practitioner.jobRole,
                practitioner.vetting.criminalRecordsCheckedOn?.description,
                practitioner.vetting.criminalRecordsReference,
                practitioner.vetting.trainingCompletedOn?.description,
                practitioner.vetting.userAgreementAcceptedOn?.description, practitioner.vetting.homePostcode,
                enrolmentCodeHash, enrolmentExpiresAt,
            ])
        for role in practitioner.roles {
            try db.execute(
                sql: "INSERT INTO practitioner_role (practitioner_id, role) VALUES (?, ?)",
                arguments: [practitioner.id, role.name])
        }
        try appendEvent(db, .accountCreated, subject: practitioner.id, actor: actor, now: now)
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

    static func loginRecord(_ db: Database, where condition: String, _ value: String) throws -> LoginRecord? {
        guard let practitioner = try Self.practitioner(db, where: condition, value),
            let organisation = try Row.fetchOne(
                db, sql: "SELECT * FROM organisation WHERE id = ?", arguments: [practitioner.organisationID]
            )
            .map(Self.organisation),
            let row = try Row.fetchOne(
                db,
                sql: "SELECT password_hash, totp_secret, failed_logins, throttled_until FROM practitioner WHERE id = ?",
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
                try Self.appendEvent(
                    db, .loginFailed, subject: practitionerID, reason: reason, now: now)
                return (lockAfter, true)
            }
            try db.execute(
                sql: "UPDATE practitioner SET throttled_until = ? WHERE id = ?",
                arguments: [now + delay(failures), practitionerID])
            try Self.appendEvent(db, .loginFailed, subject: practitionerID, reason: reason, now: now)
            let locked = failures >= lockAfter
            if locked {
                try Self.appendEvent(
                    db, .accountLocked, subject: practitionerID, reason: reason, now: now)
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
                sql:
                    """
                    UPDATE practitioner SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR \
                    totp_last_step < ?)
                    """,
                arguments: [Int64(step), practitionerID, Int64(step)])
            return db.changesCount == 1
        }
    }

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
                db, sql: "SELECT totp_secret FROM practitioner WHERE id = ? AND status = 'inactive'",
                arguments: [practitionerID]
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
            try Self.appendEvent(db, .accountActive, subject: practitionerID, now: now)
        }
    }

    /// Creates the first organisation and administrator of an empty system, in one transaction;
    /// `false` (and nothing written) if any account exists already.
    func bootstrap(
        organisation: Organisation, administrator: Practitioner, enrolmentCodeHash: String, enrolmentExpiresAt: Int64,
        now: Int64
    ) async throws -> Bool {
        do {
            try await writer.write { db in
                guard try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM practitioner)") == true else {
                    throw BootstrapSkipped()
                }
                try Self.insert(organisation, db, actor: nil, now: now)
                try Self.insert(
                    administrator, enrolmentCodeHash: enrolmentCodeHash, enrolmentExpiresAt: enrolmentExpiresAt, db,
                    actor: nil, now: now)
            }
            return true
        } catch is BootstrapSkipped {
            return false
        }
    }

    private struct BootstrapSkipped: Error {}

    func setStatus(practitionerID: String, to status: AccountStatus, now: Int64) async throws {
        let from: [AccountStatus] =
            switch status {
            case .suspended: [.active]
            case .active: [.suspended]
            case .closed: [.inactive, .active, .suspended]
            case .inactive: []
            }
        try await writer.write { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM practitioner WHERE id = ?)", arguments: [practitionerID])
                    == true
            else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try db.execute(
                sql:
                    """
                    UPDATE practitioner SET status = ? WHERE id = ? AND status IN \
                    (\(from.map { "'\($0.rawValue)'" }.joined(separator: ",")))
                    """,
                arguments: [status.rawValue, practitionerID])
            guard db.changesCount == 1 else {
                let current =
                    try String.fetchOne(
                        db, sql: "SELECT status FROM practitioner WHERE id = ?", arguments: [practitionerID]) ?? ""
                throw IdentityStoreError.transitionNotAllowed(from: current, to: status.rawValue)
            }
            if status == .suspended || status == .closed {
                try Self.endSessions(db, of: practitionerID, reason: "account \(status.rawValue)", now: now)
            }
            try Self.appendEvent(
                db, AuditAction(status: status), subject: practitionerID, actor: actor, now: now)
        }
    }

    /// Replaces an active account's password hash and ends every session but `keepingSession`.
    func changePassword(practitionerID: String, passwordHash: String, keepingSession: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET password_hash = ? WHERE id = ? AND status = 'active'",
                arguments: [passwordHash, practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try db.execute(
                sql:
                    """
                    UPDATE session SET ended_at = ?, end_reason = 'password changed' WHERE practitioner_id = ? \
                    AND id != ? AND ended_at IS NULL
                    """,
                arguments: [now, practitionerID, keepingSession])
            try Self.appendEvent(db, .passwordChanged, subject: practitionerID, now: now)
        }
    }

    /// Unlocks an account locked by failed logins, and forgets the failures.
    func unlock(practitionerID: String, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE practitioner SET is_locked = 0, failed_logins = 0, throttled_until = 0 WHERE id = ?",
                arguments: [practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.appendEvent(
                db, .accountUnlocked, subject: practitionerID, actor: actor, now: now)
        }
    }

    /// Takes away an account's password and authenticator and ends its sessions: it must enrol
    /// again with the new code. A closed account cannot be reset.
    func resetCredentials(practitionerID: String, enrolmentCodeHash: String, enrolmentExpiresAt: Int64, now: Int64)
        async throws
    {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET status = 'inactive', password_hash = NULL, totp_secret = NULL,
                        enrolment_code_hash = ?, enrolment_expires_at = ?, is_locked = 0, failed_logins = 0, \
                        throttled_until = 0
                    WHERE id = ? AND status != 'closed'
                    """,
                arguments: [enrolmentCodeHash, enrolmentExpiresAt, practitionerID])
            guard db.changesCount == 1 else { throw IdentityStoreError.accountClosed(practitionerID) }
            try Self.endSessions(db, of: practitionerID, reason: "credentials reset", now: now)
            try Self.appendEvent(
                db, .credentialsReset, subject: practitionerID, actor: actor, now: now)
        }
    }

    func recordVetting(practitionerID: String, vetting: Vetting, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE practitioner SET crb_checked_on = ?, crb_reference = ?, training_completed_on = ?, \
                    agreement_accepted_on = ?, home_postcode = ?
                    WHERE id = ?
                    """,
                arguments: [
                    vetting.criminalRecordsCheckedOn?.description, vetting.criminalRecordsReference,
                    vetting.trainingCompletedOn?.description, vetting.userAgreementAcceptedOn?.description,
                    vetting.homePostcode, practitionerID,
                ])
            guard db.changesCount == 1 else { throw IdentityStoreError.noSuchAccount(practitionerID) }
            try Self.appendEvent(
                db, .vettingRecorded, subject: practitionerID, actor: actor, now: now)
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
}
