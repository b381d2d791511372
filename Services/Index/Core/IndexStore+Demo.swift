import ContactPointAPI
import DemoWorld
import Foundation
import GRDB
import RecordFields

extension IndexStore {
    /// Loads `count` synthetic children of ``DemoWorld``'s authority, involved with its
    /// organisations, unless the index already holds children. Returns how many were loaded.
    func seedDemoWorld(children count: Int, now: Int64) async throws -> Int {
        guard try await writer.read({ db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM child LIMIT 1)") }) == 0 else {
            return 0
        }
        var generator = PopulationGenerator.demoWorld(referenceDate: CalendarDay.today())
        var loaded = 0
        while loaded < count {
            let batch = (0..<min(1000, count - loaded)).map { _ in generator.next() }
            _ = try await putChildren(batch, asProcess: "demo-world", action: "load-demo-world", now: now)
            loaded += batch.count
        }
        return loaded
    }
}

extension PopulationGenerator {
    /// The demo world's children as `up --demo` loads them on `referenceDate` (`YYYY-MM-DD`, today).
    public static func demoWorld(referenceDate: String) -> PopulationGenerator {
        var generator = PopulationGenerator(seed: 2026, localAuthorities: [DemoWorld.localAuthority], referenceDate: referenceDate)
        generator.organisations = Dictionary(
            uniqueKeysWithValues: DemoWorld.organisations.map { organisation in
                (Contactpoint_V1_ServiceType(code: organisation.serviceType)!, Organisation(id: organisation.id, name: organisation.name))
            })
        return generator
    }
}
