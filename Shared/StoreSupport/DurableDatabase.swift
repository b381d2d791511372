import DurableFiles
public import GRDB

/// How a service opens its SQLite database: WAL (a pool of readers beside one writer), a busy
/// timeout, and `synchronous=FULL` on the writer, so that a commit is on disk before it returns
/// and an acknowledged write survives a crash or power loss.
///
/// In WAL mode `synchronous=NORMAL` syncs the log only at checkpoints: a power cut then loses
/// every commit since the last one. GRDB's pool sets NORMAL on its writer after
/// `prepareDatabase` has run (`Database.setUpWALMode()`), so a FULL asked for there does not
/// last; FULL is set again once the pool is open, and read back: a store that is not durable
/// does not open.
public enum DurableDatabase {
    /// - Parameters:
    ///   - readers: the most concurrent read connections (GRDB's default is 5).
    ///   - busyTimeout: how long a write waits for another instance's write, in seconds.
    ///   - prepare: more per-connection settings (a cache size, an attached database, say).
    public static func open(
        path: String, readers: Int = 5, busyTimeout: Double = 5,
        prepare: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.maximumReaderCount = readers
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try prepare(db)
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA main.synchronous = FULL") }
        let level = try synchronousLevel(of: pool)
        guard level >= fullSynchronous else { throw DurableDatabaseError.notDurable(path: path, synchronous: level) }
        // SQLite syncs the directory when it creates the write-ahead log, not when it creates the
        // database file: a new database's name is made durable here.
        try DurableFile.syncDirectory(containing: path)
        return pool
    }

    /// `PRAGMA synchronous` of the main database on the connection that writes: 0 OFF, 1 NORMAL,
    /// 2 FULL, 3 EXTRA.
    public static func synchronousLevel(of writer: any DatabaseWriter) throws -> Int {
        try writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA main.synchronous") ?? 0 }
    }

    /// The least `synchronous` level that syncs the write-ahead log at every commit.
    public static let fullSynchronous = 2

    /// Whether the database answers: a service's readiness check.
    public static func isAvailable(_ reader: any DatabaseReader) async -> Bool {
        (try? await reader.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

/// A database that could not be opened as durably as it must be.
public enum DurableDatabaseError: Error, CustomStringConvertible {
    case notDurable(path: String, synchronous: Int)

    public var description: String {
        switch self {
        case .notDurable(let path, let level):
            """
            \(path): PRAGMA synchronous is \(level) on the writer after it was set to FULL (2); commits would not \
            be durable
            """
        }
    }
}
