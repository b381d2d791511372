public import GRDB

/// How a service opens its SQLite database: WAL (a pool of readers beside one writer), a busy
/// timeout, and `synchronous=FULL`, so that an acknowledged write survives a crash or power loss.
public enum DurableDatabase {
    /// - Parameters:
    ///   - readers: the most concurrent read connections (GRDB's default is 5).
    ///   - prepare: more per-connection settings (a cache size, say).
    public static func open(
        path: String, readers: Int = 5, prepare: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.maximumReaderCount = readers
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try prepare(db)
        }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Whether the database answers: a service's readiness check.
    public static func isAvailable(_ reader: any DatabaseReader) async -> Bool {
        (try? await reader.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}
