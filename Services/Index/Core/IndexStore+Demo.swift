import ContactPointAPI
import DemoWorld
import Foundation
import GRDB
import RecordFields
import Timekeeping
import Vocabulary

extension IndexStore {
    /// Loads `count` synthetic children of ``DemoWorld``'s authority, involved with its
    /// organisations, unless the index holds them already. Returns how many were loaded.
    ///
    /// They are loaded in batches of 1,000, each its own transaction; a load cut short (a crash, a
    /// power cut) is finished on the next start: the generator is deterministic, so the children
    /// already loaded are the first ones it makes.
    func seedDemoWorld(children count: Int, now: Int64) async throws -> Int {
        // Counted no further than needed: a full count of a national index reads all of it.
        let existing = try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM child LIMIT ?)", arguments: [count]) ?? 0
        }
        guard existing < count else { return 0 }
        var generator = PopulationGenerator.demoWorld(
            referenceDate: CalendarDay(inEngland: WallClock.system.now).description)
        for _ in 0..<existing { _ = generator.next() }
        var loaded = existing
        while loaded < count {
            let batch = (0..<min(1000, count - loaded)).map { _ in generator.next() }
            _ = try await putChildren(batch, asProcess: "demo-world", action: .loadDemoWorld, now: now)
            loaded += batch.count
        }
        return loaded - existing
    }
}

extension PopulationGenerator {
    /// The demo world's children as `up --demo` loads them on `referenceDate` (`YYYY-MM-DD`, today).
    public static func demoWorld(referenceDate: String) -> PopulationGenerator {
        var generator = PopulationGenerator(
            seed: 2026, localAuthorities: [DemoWorld.localAuthority], referenceDate: referenceDate)
        generator.organisations = Dictionary(
            uniqueKeysWithValues: DemoWorld.organisations.map { organisation in
                (
                    Contactpoint_V1_ServiceType(code: organisation.serviceType)!,
                    Organisation(id: organisation.id, name: organisation.name)
                )
            })
        return generator
    }
}
