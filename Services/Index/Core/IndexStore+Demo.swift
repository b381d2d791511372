import ContactPointAPI
import DemoWorld
import Foundation
import GRDB

extension IndexStore {
    /// Loads `count` synthetic children of ``DemoWorld``'s authority, involved with its
    /// organisations, unless the index already holds children. Returns how many were loaded.
    func seedDemoWorld(children count: Int, now: Int64) async throws -> Int {
        guard try await writer.read({ db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM child LIMIT 1)") }) == 0 else {
            return 0
        }
        var generator = PopulationGenerator(seed: 2026, localAuthorities: [DemoWorld.localAuthority], referenceDate: CalendarDay.today())
        generator.organisations = Dictionary(
            uniqueKeysWithValues: DemoWorld.organisations.map { organisation in
                (Contactpoint_V1_ServiceType(code: organisation.serviceType)!, PopulationGenerator.Organisation(id: organisation.id, name: organisation.name))
            })
        let actor = Contactpoint_V1_AuditActor.with { $0.practitionerID = "demo-world" }
        var loaded = 0
        while loaded < count {
            let batch = (0..<min(1000, count - loaded)).map { _ in generator.next() }
            _ = try await putChildren(
                batch, by: actor, now: now,
                audit: .with {
                    $0.eventID = UUID().uuidString.lowercased()
                    $0.occurredAtMs = now
                    $0.action = "index/put-children"
                    $0.category = .change
                    $0.actor = actor
                    $0.service = "index"
                    $0.outcome = .permitted
                    $0.reasonCode = "demo-world"
                })
            loaded += batch.count
        }
        return loaded
    }
}
