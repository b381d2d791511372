import ContactPointAPI
import Foundation
import GRDB
import Identifiers
import RecordFields
public import ServiceRuntime
import StoreSupport

/// The index database (`index.sqlite`): children, their names for search, addresses, carers,
/// involvements and indicators, and two outboxes — access and change events for the audit trail,
/// change events for the notification service.
///
/// One method per transaction; constraints live in the schema. There is no column for free text
/// beyond names, addresses and contact details, each bounded here as in ``FieldValidation``.
/// A ContactPoint ID is stored as its integer value, written back with ten digits. Rows are keyed
/// by `child.row`, assigned in insertion order, not by the (random) ID: a child's addresses,
/// carers, names and involvements are written together and sit together, so a bulk load appends
/// instead of touching pages all over each table.
public struct IndexStore: Sendable {
    let writer: any DatabaseWriter
    /// The reads of searches and views, on threads of their own (fewer hand-offs per lookup than
    /// GRDB's `async` read): one per core and one more, for a read waiting on the disk. More
    /// threads make more wake-ups: four on two cores served 0.86× the lookups of two.
    let lookups: DatabaseReadThreads
    /// Signalled after a change event is committed: wakes the ``ChangeForwarder``.
    public let changesWritten = Wakeup()
    /// The ids involvements are given out by: not their row numbers, which would tell how many
    /// there are (``OpaqueRowIDs``).
    let involvementIDs: OpaqueRowIDs

    /// Opens (creating if needed) the database at `path` in WAL mode with `synchronous=FULL`:
    /// an acknowledged write survives a crash or power loss.
    public static func open(path: String) throws -> IndexStore {
        try IndexStore(
            writer: DurableDatabase.open(path: path) { db in
                // Children's ids are random, so loads and lookups touch pages all over the tables: the
                // writer keeps more of them than SQLite's 2 MiB default; each reader somewhat more.
                try db.execute(sql: "PRAGMA cache_size = \(db.configuration.readonly ? -16_384 : -131_072)")
            })
    }

    private init(writer: DatabasePool) throws {
        self.writer = writer
        self.lookups = try DatabaseReadThreads(
            pool: writer, count: ProcessInfo.processInfo.activeProcessorCount + 1, name: "index")
        try Self.migrator.migrate(writer)
        involvementIDs = try writer.read { db in
            try OpaqueRowIDKeys.load(kind: "involvement", prefix: Self.involvementIDPrefix, db)
        }
        if try writer.read({ db in try Self.isInitialLoad(db) }) {
            try writer.write { db in try Self.finishInitialLoad(db) }
            try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
    }

    /// Whether the database answers: the service's readiness check.
    func isAvailable() async -> Bool { await DurableDatabase.isAvailable(writer) }

    /// The row of the child with this ContactPoint ID.
    static func row(ofChild id: Int64, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT row FROM child WHERE id = ?"), arguments: [id])
    }

    /// Each row of `statement` decoded as SQLite steps to it, its columns read by position.
    /// `Row.fetchAll` copies every row, and a copied row finds a column by name by lowercasing
    /// every column name before it.
    static func decodeRows<T>(
        _ statement: Statement, _ arguments: StatementArguments, _ decode: @escaping (Row) throws -> T
    ) throws -> [T] {
        try Array(Row.fetchCursor(statement, arguments: arguments).map(decode))
    }

    // MARK: Schema

    static let involvementIDPrefix = "inv-"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: children, involvements, outboxes") { db in
            func bounded(_ column: String) -> String {
                "\(column) TEXT NOT NULL CHECK (length(\(column)) BETWEEN 1 AND 100)"
            }
            let addressColumns = """
                line1 TEXT CHECK (length(line1) BETWEEN 1 AND 100), line2 TEXT CHECK (length(line2) <= 100),
                line3 TEXT CHECK (length(line3) <= 100), line4 TEXT CHECK (length(line4) <= 100),
                town TEXT CHECK (length(town) <= 100), postcode TEXT CHECK (length(postcode) BETWEEN 6 AND 8)
                """
            let date = "GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'"
            try db.execute(
                sql: """
                    CREATE TABLE child (
                        row INTEGER PRIMARY KEY,
                        id INTEGER NOT NULL CHECK (id BETWEEN 0 AND 9999999999),
                        \(bounded("given_name")),
                        \(bounded("family_name")),
                        date_of_birth TEXT NOT NULL CHECK (date_of_birth \(date)),
                        gender TEXT NOT NULL CHECK (gender IN (\(Contactpoint_V1_Gender.sqlList))),
                        local_authority TEXT NOT NULL CHECK (length(local_authority) BETWEEN 3 AND 12),
                        status TEXT NOT NULL CHECK (status IN (\(Contactpoint_V1_ChildStatus.sqlList))),
                        is_shielded INTEGER NOT NULL DEFAULT 0 CHECK (is_shielded IN (0, 1)),
                        updated_at INTEGER NOT NULL
                    ) STRICT;
                    -- Covers the names too: a search by date of birth screens names without reading rows.
                    CREATE UNIQUE INDEX child_by_id ON child(id);
                    CREATE INDEX child_by_birth ON child(date_of_birth, local_authority, family_name, given_name);
                    CREATE TABLE child_other_name (
                        child_row INTEGER NOT NULL REFERENCES child(row),
                        position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 9),
                        \(bounded("given_name")),
                        \(bounded("family_name")),
                        PRIMARY KEY (child_row, position)
                    ) STRICT, WITHOUT ROWID;
                    -- Position 0 is the current address, 1… previous ones.
                    CREATE TABLE child_address (
                        child_row INTEGER NOT NULL REFERENCES child(row),
                        position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 10),
                        \(addressColumns),
                        PRIMARY KEY (child_row, position)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE carer (
                        child_row INTEGER NOT NULL REFERENCES child(row),
                        position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 9),
                        \(bounded("given_name")),
                        \(bounded("family_name")),
                        relationship TEXT NOT NULL CHECK (relationship IN \
                        (\(Contactpoint_V1_CarerRelationship.sqlList))),
                        parental_responsibility INTEGER NOT NULL CHECK (parental_responsibility IN (0, 1)),
                        \(addressColumns),
                        telephone TEXT CHECK (length(telephone) BETWEEN 10 AND 20),
                        PRIMARY KEY (child_row, position)
                    ) STRICT, WITHOUT ROWID;
                    -- Every (family name part, given name part) of a child's current and other names, by
                    -- sound code, with the date of birth: search reads a range of this index.
                    CREATE TABLE search_key (
                        family_code TEXT NOT NULL,
                        given_code TEXT NOT NULL,
                        date_of_birth TEXT NOT NULL,
                        child_row INTEGER NOT NULL,
                        PRIMARY KEY (family_code, given_code, date_of_birth, child_row)
                    ) STRICT, WITHOUT ROWID;
                    CREATE TABLE involvement (
                        id INTEGER PRIMARY KEY,
                        child_row INTEGER NOT NULL REFERENCES child(row),
                        service_type TEXT NOT NULL CHECK (service_type IN (\(Contactpoint_V1_ServiceType.sqlList))),
                        organisation_id TEXT NOT NULL CHECK (length(organisation_id) BETWEEN 1 AND 64),
                        organisation_name TEXT NOT NULL CHECK (length(organisation_name) BETWEEN 1 AND 200),
                        \(bounded("contact_name")),
                        \(bounded("contact_role")),
                        contact_telephone TEXT CHECK (length(contact_telephone) BETWEEN 10 AND 20),
                        contact_email TEXT CHECK (length(contact_email) BETWEEN 3 AND 254),
                        start_date TEXT NOT NULL CHECK (start_date \(date)),
                        end_date TEXT CHECK (end_date \(date) AND end_date >= start_date),
                        is_lead INTEGER NOT NULL DEFAULT 0 CHECK (is_lead IN (0, 1)),
                        recorded_by TEXT NOT NULL,
                        recorded_at INTEGER NOT NULL
                    ) STRICT;
                    CREATE INDEX involvement_by_child ON involvement(child_row);
                    CREATE TABLE indicator (
                        involvement_id INTEGER NOT NULL REFERENCES involvement(id),
                        kind TEXT NOT NULL CHECK (kind IN (\(Contactpoint_V1_IndicatorKind.sqlList))),
                        raised_on TEXT NOT NULL CHECK (raised_on \(date)),
                        raised_by TEXT NOT NULL,
                        PRIMARY KEY (involvement_id, kind)
                    ) STRICT, WITHOUT ROWID;
                    """)
            // Change events: encoded contactpoint.v1.IndexChangeEvent.
            try db.execute(sql: OutboxTables.schema)
        }
        migrator.registerMigration("2: idempotent writes") { db in try db.execute(sql: IdempotentWrites.schema) }
        migrator.registerMigration("3: opaque involvement ids") { db in
            try OpaqueRowIDKeys.create(kind: "involvement", rowsOf: "involvement", column: "id", db)
        }
        migrator.registerMigration("4: children by postcode") { db in try db.execute(sql: Self.postcodeIndex) }
        return migrator
    }
}

extension IndexStore {
    /// Search by a full postcode reads the children living there (current addresses only).
    static let postcodeIndex = """
        CREATE INDEX IF NOT EXISTS child_address_by_postcode ON child_address(postcode) WHERE position = 0;
        """
}

enum IndexStoreError: Error, Equatable {
    case noSuchChild(String)
    case noSuchInvolvement(String)
    case notYourOrganisation
    case alreadyEnded(String)
    case endBeforeStart
    case startBeforeBirth
    case notEmpty
    /// A new child (at this position in the batch) who is 18 or over: the index holds children.
    case adult(position: Int, bornOnOrBefore: String)
}
