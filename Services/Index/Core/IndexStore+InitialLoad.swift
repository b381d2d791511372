import GRDB

/// An initial load fills an empty index with a national feed. Inserting children in random
/// order into the ID, date-of-birth and postcode indexes and the search keys rewrites most of
/// their pages in every batch; so during an initial load search keys go to an unindexed staging
/// table and the indexes are dropped, and all are built once, sorted, at the end. The loader
/// issues the IDs (``InitialLoadIDs``, never repeating); their uniqueness is checked again when the ID
/// index is built. Searches and views find nothing new until then: run it before the index is
/// opened to practitioners.
///
/// Finishing is idempotent and also happens when any process opens the database: an initial
/// load interrupted by a crash is completed (with what it had loaded) on the next start, and a
/// loader still running afterwards simply writes its keys to the finished index.
extension IndexStore {
    static let stagingTable = "search_key_staging"

    /// Starts an initial load; FAILED_PRECONDITION unless the index holds no children.
    func beginInitialLoad() async throws {
        try await writer.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM child LIMIT 1)") == 0 else {
                throw IndexStoreError.notEmpty
            }
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS \(Self.stagingTable) (
                        family_code TEXT NOT NULL, given_code TEXT NOT NULL, date_of_birth TEXT NOT NULL, child_row \
                        INTEGER NOT NULL
                    ) STRICT;
                    DROP INDEX IF EXISTS child_by_birth;
                    DROP INDEX IF EXISTS child_by_id;
                    DROP INDEX IF EXISTS child_address_by_postcode;
                    """)
        }
    }

    /// Builds the ID, date-of-birth and postcode indexes and moves the staged search keys into
    /// place, in key order; then copies them into the database file and empties the write-ahead log. Left in the
    /// log (2 GB at 11 M children), the indexes would be copied back by whichever commit came next,
    /// looked up there by every read until then, and the log file would keep that size.
    func finishInitialLoad() async throws {
        try await writer.write { db in try Self.finishInitialLoad(db) }
        try await writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    static func finishInitialLoad(_ db: Database) throws {
        guard try db.tableExists(stagingTable) else { return }
        // As created by the schema's migration.
        try db.execute(
            sql: """
                CREATE UNIQUE INDEX IF NOT EXISTS child_by_id ON child(id);
                CREATE INDEX IF NOT EXISTS child_by_birth ON child(date_of_birth, local_authority, family_name, \
                given_name);
                \(postcodeIndex)
                INSERT OR IGNORE INTO search_key (family_code, given_code, date_of_birth, child_row)
                    SELECT family_code, given_code, date_of_birth, child_row FROM \(stagingTable) ORDER BY 1, 2, 3, 4;
                DROP TABLE \(stagingTable);
                """)
    }

    static func isInitialLoad(_ db: Database) throws -> Bool { try db.tableExists(stagingTable) }
}
