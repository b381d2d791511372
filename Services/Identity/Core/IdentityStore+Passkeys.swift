import Foundation
import GRDB

/// Passkeys (WebAuthn credentials) of practitioners, and the single-use challenges issued for
/// them. Adding and removing a passkey are audited and told to the practitioner.
extension IdentityStore {
    struct StoredPasskey: Sendable, Equatable {
        var credentialID: [UInt8]
        var practitionerID: String
        var name: String
        /// The COSE_Key the authenticator registered.
        var publicKey: [UInt8]
        var algorithm: Int
        var signCount: UInt32
        var attestationFormat: String
        var aaguid: [UInt8]
        var backupEligible: Bool
        var createdAt: Int64
        var lastUsedAt: Int64?

        init(
            credentialID: [UInt8], practitionerID: String, name: String, publicKey: [UInt8], algorithm: Int,
            signCount: UInt32, attestationFormat: String, aaguid: [UInt8], backupEligible: Bool, createdAt: Int64
        ) {
            (self.credentialID, self.practitionerID, self.name) = (credentialID, practitionerID, name)
            (self.publicKey, self.algorithm, self.signCount) = (publicKey, algorithm, signCount)
            (self.attestationFormat, self.aaguid, self.backupEligible) = (attestationFormat, aaguid, backupEligible)
            self.createdAt = createdAt
        }

        init(row: Row) {
            credentialID = [UInt8](row["credential_id"] as Data)
            (practitionerID, name) = (row["practitioner_id"], row["name"])
            publicKey = [UInt8](row["public_key"] as Data)
            (algorithm, signCount, attestationFormat) = (row["algorithm"], row["sign_count"], row["attestation_format"])
            aaguid = [UInt8](row["aaguid"] as Data)
            (backupEligible, createdAt, lastUsedAt) = (row["backup_eligible"], row["created_at"], row["last_used_at"])
        }
    }

    enum ChallengePurpose: String, Sendable {
        case login, registration
    }

    func createPasskeyChallenge(
        id: String, practitionerID: String, purpose: ChallengePurpose, challenge: [UInt8], expiresAt: Int64, now: Int64
    ) async throws {
        try await writer.write { db in
            // Challenges nobody completed go when the next one is made.
            try db.execute(sql: "DELETE FROM passkey_challenge WHERE expires_at <= ?", arguments: [now])
            try db.execute(
                sql: """
                    INSERT INTO passkey_challenge (id, practitioner_id, purpose, challenge, expires_at) \
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [id, practitionerID, purpose.rawValue, Data(challenge), expiresAt])
        }
    }

    /// The challenge `id` for `purpose`, deleted as it is read: of concurrent uses one wins.
    /// `nil` for one unknown, used, expired or issued for the other purpose.
    func takePasskeyChallenge(id: String, purpose: ChallengePurpose, now: Int64) async throws
        -> (practitionerID: String, challenge: [UInt8])?
    {
        try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "DELETE FROM passkey_challenge WHERE id = ? RETURNING *", arguments: [id]),
                row["purpose"] == purpose.rawValue, (row["expires_at"] as Int64) > now
            else { return nil }
            return (row["practitioner_id"], [UInt8](row["challenge"] as Data))
        }
    }

    func passkeys(practitionerID: String) async throws -> [StoredPasskey] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM passkey WHERE practitioner_id = ? ORDER BY created_at",
                arguments: [practitionerID]
            ).map(StoredPasskey.init(row:))
        }
    }

    /// Throws ``IdentityStoreError/passkeyRegistered`` if the credential is registered already.
    func addPasskey(_ passkey: StoredPasskey) async throws {
        try await writer.write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO passkey (credential_id, practitioner_id, name, public_key, algorithm, sign_count, \
                        attestation_format, aaguid, backup_eligible, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(passkey.credentialID), passkey.practitionerID, passkey.name, Data(passkey.publicKey),
                        passkey.algorithm, passkey.signCount, passkey.attestationFormat, Data(passkey.aaguid),
                        passkey.backupEligible, passkey.createdAt,
                    ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw IdentityStoreError.passkeyRegistered
            }
            try Self.appendEvent(
                db, .passkeyAdded, subject: passkey.practitionerID, reason: passkey.attestationFormat,
                now: passkey.createdAt)
        }
    }

    /// Records a sign-in with the passkey: its new signature counter, and when.
    func passkeyUsed(credentialID: [UInt8], signCount: UInt32, now: Int64) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE passkey SET sign_count = ?, last_used_at = ? WHERE credential_id = ?",
                arguments: [signCount, now, Data(credentialID)])
        }
    }

    /// Whether the practitioner had the passkey (it is gone now).
    func removePasskey(practitionerID: String, credentialID: [UInt8], now: Int64) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "DELETE FROM passkey WHERE practitioner_id = ? AND credential_id = ?",
                arguments: [practitionerID, Data(credentialID)])
            guard db.changesCount == 1 else { return false }
            try Self.appendEvent(db, .passkeyRemoved, subject: practitionerID, now: now)
            return true
        }
    }
}
