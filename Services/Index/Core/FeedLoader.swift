public import ContactPointAPI
import Foundation
import GRPCCore
import RecordFields
import Synchronization
import Timekeeping
import Vocabulary

/// Loads a national feed straight into an index database, for the operator of the index's host:
/// the same validation and transaction per batch as PutChildren, without the bus. Whoever can
/// write the database file can change the index anyway; the loader records each batch in the
/// audit outbox under `operatorName`, and the running service delivers it with its own events.
public final class FeedLoader: Sendable {
    let store: IndexStore
    let operatorName: String
    /// The IDs this loader issues during an initial load; nil otherwise.
    private let initialLoadIDs = Mutex<InitialLoadIDs?>(nil)

    public init(database path: String, operatorName: String) throws {
        store = try IndexStore.open(path: path)
        self.operatorName = operatorName
    }

    public struct Loaded: Sendable {
        /// In the order given; empty for a row skipped.
        public var childIDs: [String]
        public var created: Int
        public var updated: Int
        /// Young people of 18 or over not on the index: skipped, not an error.
        public var skippedAdults: Int
    }

    /// Validates the batch (a bad field is an `RPCError` naming `children[offset + N]…`); nothing
    /// of a batch with a bad child is stored.
    public func validate(_ entries: [Contactpoint_V1_ChildEntry], offset: Int) throws -> [Contactpoint_V1_ChildEntry] {
        if initialLoadIDs.withLock({ $0 != nil }), let given = entries.firstIndex(where: { !$0.child.childID.isEmpty })
        {
            throw FieldValidation.invalid(
                "children[\(offset + given)].child.child_id", "an initial load issues the IDs itself: leave it empty")
        }
        return try RecordValidation.entries(
            entries, today: CalendarDay(inEngland: WallClock.system.now).description, offset: offset)
    }

    /// Starts an initial load (INDEX.md): only into an empty index (FAILED_PRECONDITION otherwise);
    /// the index is searchable again after ``finishInitialLoad()``.
    public func beginInitialLoad() async throws {
        do { try await store.beginInitialLoad() } catch let error as IndexStoreError { throw RPCError(error) }
        initialLoadIDs.withLock { $0 = InitialLoadIDs() }
    }

    /// Builds the search structures an initial load deferred.
    public func finishInitialLoad() async throws {
        try await store.finishInitialLoad()
        initialLoadIDs.withLock { $0 = nil }
    }

    /// Stores a validated batch in one transaction, with one audit event per 1,000 children.
    public func store(_ entries: [Contactpoint_V1_ChildEntry]) async throws -> Loaded {
        var entries = entries
        initialLoadIDs.withLock { ids in
            guard ids != nil else { return }
            for index in entries.indices { entries[index].child.childID = IndexStore.childID(ids!.next()) }
        }
        let result: IndexStore.PutResult
        do {
            result = try await store.putChildren(
                entries, asProcess: operatorName, action: .loadFeed, now: WallClock.system.now.milliseconds)
        } catch let error as IndexStoreError {
            throw RPCError(error)
        }
        return Loaded(
            childIDs: result.childIDs, created: result.created, updated: result.updated,
            skippedAdults: result.skippedAdults)
    }
}
