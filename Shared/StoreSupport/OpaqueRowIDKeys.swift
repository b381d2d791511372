import Foundation
public import GRDB
public import Identifiers
import SecurityPrimitives

/// Where a store keeps the key of its ``OpaqueRowIDs``: one row per kind of row, made by a
/// migration, so every instance sharing the database gives and reads the same ids.
public enum OpaqueRowIDKeys {
    /// For a migration: a new random key for `kind`. The rows already in `table` were given out
    /// as their numbers and keep them; rows made after get opaque ids.
    public static func create(kind: String, rowsOf table: String, column: String, _ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS opaque_id_key (
                    kind TEXT PRIMARY KEY,
                    key BLOB NOT NULL CHECK (length(key) = 32),
                    plain_up_to INTEGER NOT NULL
                ) STRICT
                """)
        try db.execute(
            sql: """
                INSERT INTO opaque_id_key (kind, key, plain_up_to)
                VALUES (?, ?, (SELECT coalesce(max(\(column)), 0) FROM \(table)))
                """,
            arguments: [kind, Data(SecureRandom.bytes(32))])
    }

    /// The ids of `kind`, written with `prefix`.
    public static func load(kind: String, prefix: String, _ db: Database) throws -> OpaqueRowIDs {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT key, plain_up_to FROM opaque_id_key WHERE kind = ?", arguments: [kind])
        else { throw DatabaseError(message: "no opaque-id key for \(kind): the database is not migrated") }
        return OpaqueRowIDs(prefix: prefix, key: Array(row["key"] as Data), plainUpTo: row["plain_up_to"])
    }
}
