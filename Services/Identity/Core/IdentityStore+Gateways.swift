import GRDB

/// Agency gateways: an organisation's case-management system, admitted on the bus by its CURVE
/// key (docs/GATEWAYS.md). Registering and revoking are audited like any administration.
extension IdentityStore {
    struct Gateway: Sendable, Equatable {
        var id: String
        var organisationID: String
        var name: String
        /// Z85, 40 characters.
        var publicKey: String
        /// What it may do: read its organisation's alerts; relay its practitioners' sign-in.
        var readsAlerts: Bool
        var actsForPractitioners: Bool
        var registeredAt: Int64
        var registeredBy: String
        var revokedAt: Int64?
        var revokedBy: String?

        init(row: Row) {
            (id, organisationID, name, publicKey) = (row["id"], row["organisation_id"], row["name"], row["public_key"])
            (readsAlerts, actsForPractitioners) = (row["reads_alerts"], row["acts_for_practitioners"])
            (registeredAt, registeredBy, revokedAt, revokedBy) = (
                row["registered_at"], row["registered_by"], row["revoked_at"], row["revoked_by"]
            )
        }

        init(
            id: String, organisationID: String, name: String, publicKey: String, readsAlerts: Bool,
            actsForPractitioners: Bool, registeredAt: Int64, registeredBy: String
        ) {
            (self.id, self.organisationID, self.name, self.publicKey) = (id, organisationID, name, publicKey)
            (self.readsAlerts, self.actsForPractitioners) = (readsAlerts, actsForPractitioners)
            (self.registeredAt, self.registeredBy) = (registeredAt, registeredBy)
        }
    }

    /// Throws ``IdentityStoreError/gatewayKeyInUse`` if a gateway in force has the key.
    func registerGateway(_ gateway: Gateway) async throws {
        try await writer.write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO gateway (id, organisation_id, name, public_key, reads_alerts, acts_for_practitioners, \
                        registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        gateway.id, gateway.organisationID, gateway.name, gateway.publicKey, gateway.readsAlerts,
                        gateway.actsForPractitioners, gateway.registeredAt, gateway.registeredBy,
                    ])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw IdentityStoreError.gatewayKeyInUse
            }
            try Self.appendEvent(
                db, .gatewayRegistered, subject: gateway.id, actor: gateway.registeredBy, now: gateway.registeredAt)
        }
    }

    /// Revokes a gateway in force, and ends every session granted through it (every service
    /// refuses them at its next look at the ended sessions); a gateway already revoked is
    /// returned as it is.
    func revokeGateway(id: String, now: Int64) async throws -> Gateway {
        try await writer.write { [actor] db in
            try db.execute(
                sql: "UPDATE gateway SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [now, actor ?? "", id])
            if db.changesCount == 1 {
                try Self.appendEvent(db, .gatewayRevoked, subject: id, actor: actor, now: now)
                try db.execute(
                    sql: """
                        UPDATE session SET ended_at = ?, end_reason = 'gateway revoked'
                        WHERE gateway_id = ? AND ended_at IS NULL
                        """,
                    arguments: [now, id])
            }
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM gateway WHERE id = ?", arguments: [id]) else {
                throw IdentityStoreError.noSuchGateway(id)
            }
            return Gateway(row: row)
        }
    }

    func gateway(id: String) async throws -> Gateway? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM gateway WHERE id = ?", arguments: [id]).map(Gateway.init(row:))
        }
    }

    /// Every gateway (revoked ones too) of organisations in `localAuthority` (nil: everywhere),
    /// newest first.
    func gateways(localAuthority: String?) async throws -> [Gateway] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT g.* FROM gateway g JOIN organisation o ON o.id = g.organisation_id
                    WHERE ?1 IS NULL OR o.local_authority = ?1 ORDER BY g.registered_at DESC, g.id
                    """,
                arguments: [localAuthority]
            ).map(Gateway.init(row:))
        }
    }

    /// The gateways in force, for the brokers' allow-lists: not revoked, of active organisations.
    func gatewaysInForce() async throws -> [Gateway] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT g.* FROM gateway g JOIN organisation o ON o.id = g.organisation_id
                    WHERE g.revoked_at IS NULL AND o.is_active = 1 ORDER BY g.id
                    """
            ).map(Gateway.init(row:))
        }
    }
}
