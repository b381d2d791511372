import Foundation
public import GRDB
import GRPCCore
import SecurityPrimitives
public import ServiceRuntime
public import SwiftProtobuf
public import Timekeeping

/// A write sent with an idempotency key (``IdempotencyKey``), as a store remembers it: whose key,
/// which method, and a digest of the request, so that the key cannot be reused for another write.
public struct IdempotentWrite: Sendable {
    public let key: IdempotencyKey
    let requestDigest: Data

    /// The write of the call being handled, if it carries a key.
    public static func current(request: some SwiftProtobuf.Message) throws -> IdempotentWrite? {
        guard let key = IdempotencyKey.current else { return nil }
        return IdempotentWrite(key: key, requestDigest: Data(SHA256.hash(try request.serializedBytes())))
    }
}

/// The `idempotent_write` table of a store whose writes take idempotency keys: each keyed write's
/// response, written in the transaction of the write, kept for ``retention``. A retry with the
/// same key (and the same request) is answered with the first response and changes nothing: no
/// second record, no second round of alerts.
public enum IdempotentWrites {
    /// How long a key is remembered: longer than any client retries one write.
    public static let retention: Duration = .seconds(24 * 3600)

    /// The table, for a migration.
    public static let schema = """
        -- Writes sent with an idempotency key: the first response, for retries (docs/PROTOCOL.md §7).
        CREATE TABLE idempotent_write (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            request_digest BLOB NOT NULL,
            response BLOB NOT NULL,
            made_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX idempotent_write_by_age ON idempotent_write (made_at);
        """

    /// The response of the write already made with `write`'s key, if any. The same key with
    /// another method or request is INVALID_ARGUMENT: the key was meant for a different write.
    public static func earlier<Response: SwiftProtobuf.Message>(
        _ write: IdempotentWrite?, as _: Response.Type = Response.self, _ db: Database
    ) throws -> Response? {
        guard let write else { return nil }
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT method, request_digest, response FROM idempotent_write WHERE scope = ? AND key = ?"),
                arguments: [write.key.scope, write.key.key])
        else { return nil }
        guard row["method"] == write.key.method, (row["request_digest"] as Data) == write.requestDigest else {
            throw RPCError(
                code: .invalidArgument,
                message: "\(IdempotencyKey.metadataKey): already used for a different request; use a new key per write")
        }
        return try Response(serializedBytes: row["response"] as Data)
    }

    /// Remembers `response` as the result of `write`, in the write's transaction, and forgets
    /// keys older than ``retention``.
    public static func remember(
        _ write: IdempotentWrite?, response: some SwiftProtobuf.Message, at now: Instant, _ db: Database
    ) throws {
        guard let write else { return }
        try db.cachedStatement(sql: "DELETE FROM idempotent_write WHERE made_at < ?").execute(arguments: [
            (now - retention).milliseconds
        ])
        try db.cachedStatement(
            sql: """
                INSERT INTO idempotent_write (scope, key, method, request_digest, response, made_at) \
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            write.key.scope, write.key.key, write.key.method, write.requestDigest,
            try response.serializedBytes() as Data,
            now.milliseconds,
        ])
    }
}

extension DatabaseWriter {
    /// Runs `body` in one write transaction, once per idempotency key: with the key of an earlier
    /// write it returns that write's response and runs nothing; otherwise it remembers the
    /// response in the same transaction. Without a key it is a plain write.
    public func writeOnce<Response: SwiftProtobuf.Message>(
        _ write: IdempotentWrite?, at now: Instant, _ body: @Sendable @escaping (Database) throws -> Response
    ) async throws -> Response {
        try await self.write { db in
            if let earlier = try IdempotentWrites.earlier(write, as: Response.self, db) { return earlier }
            let response = try body(db)
            try IdempotentWrites.remember(write, response: response, at: now, db)
            return response
        }
    }
}

extension DatabaseReader {
    /// The response of the write already made with `write`'s key, if any: for a handler to answer
    /// a retry before it repeats a step outside its transaction (a call to another service).
    public func earlierResponse<Response: SwiftProtobuf.Message>(
        _ write: IdempotentWrite?, as _: Response.Type = Response.self
    ) async throws -> Response? {
        guard let write else { return nil }
        return try await read { db in try IdempotentWrites.earlier(write, as: Response.self, db) }
    }
}
