import ContactPointAPI
import Testing

@testable import Index

@Suite("Synthetic population")
struct PopulationTests {
    static let sample: [Contactpoint_V1_ChildEntry] = {
        var generator = PopulationGenerator(seed: 5, referenceDate: "2026-11-26")
        return (0..<3000).map { _ in generator.next() }
    }()

    @Test("every generated child passes the index's validation; the same seed gives the same population")
    func valid() throws {
        for (index, entry) in Self.sample.enumerated() {
            _ = try RecordValidation.child(entry.child, "children[\(index)].child", today: "2026-11-26")
            for (i, involvement) in entry.involvements.enumerated() {
                let valid = try RecordValidation.involvement(
                    involvement, "children[\(index)].involvements[\(i)]", today: "2026-11-26")
                #expect(valid.startDate >= entry.child.dateOfBirth)
            }
        }
        var again = PopulationGenerator(seed: 5, referenceDate: "2026-11-26")
        #expect((0..<3000).map { _ in again.next() } == Self.sample)
    }

    @Test(
        """
        families share names, addresses and carers; everyone has a GP and a school or nursery; some names are \
        hyphenated, former or misspelt twins
        """
    )
    func realistic() {
        let children = Self.sample.map(\.child)
        let families = Dictionary(grouping: children) { "\($0.name.family)|\($0.address.postcode)" }
        #expect(families.values.contains { $0.count >= 3 })
        #expect(
            Self.sample.allSatisfy { entry in
                entry.involvements.contains { $0.serviceType == .gpPractice }
                    && (entry.involvements.contains { [.educationalSetting, .earlyYears].contains($0.serviceType) }
                        || entry.involvements.count == 1)
            })
        #expect(children.filter { $0.name.family.contains("-") }.count > 50)
        #expect(children.filter { !$0.otherNames.isEmpty }.count > 30)
        // Near-duplicates: same birth date, carers and address, a name one edit away.
        let twins = zip(children, children.dropFirst()).filter { a, b in
            a.dateOfBirth == b.dateOfBirth && a.address == b.address && a.carers == b.carers && a.name != b.name
        }
        #expect(twins.count > 10)
    }
}

@Suite("Demo world children")
struct DemoWorldChildrenTests {
    @Test("the demo world's children are of its authority and involved with its organisations, loaded once")
    func seeded() async throws {
        let fixture = try IndexFixture()
        #expect(try await fixture.store.seedDemoWorld(children: 300, now: 1_795_000_000_000) == 300)
        let (authorities, organisations) = try await fixture.store.writer.read { db in
            (
                try String.fetchSet(db, sql: "SELECT local_authority FROM child"),
                try String.fetchSet(db, sql: "SELECT organisation_id FROM involvement")
            )
        }
        #expect(authorities == ["E09000033"])
        #expect(
            organisations.isSubset(of: ["demo-school", "demo-gp", "demo-social-care", "demo-yot", "demo-voluntary"]))
        #expect(organisations.isSuperset(of: ["demo-school", "demo-gp"]))
        #expect(try await fixture.store.seedDemoWorld(children: 300, now: 1_795_000_000_000) == 0)
    }

    @Test("a demo load cut short is finished on the next start with the children a whole load makes")
    func finishedAfterCut() async throws {
        let whole = try IndexFixture()
        #expect(try await whole.store.seedDemoWorld(children: 300, now: 1_795_000_000_000) == 300)
        // Given a load that stopped after its first 100 children, when the service starts again
        let cut = try IndexFixture()
        #expect(try await cut.store.seedDemoWorld(children: 100, now: 1_795_000_000_000) == 100)
        #expect(try await cut.store.seedDemoWorld(children: 300, now: 1_795_000_000_000) == 200)
        // Then it holds the same children, each once
        let names = { (fixture: IndexFixture) in
            try await fixture.store.writer.read { db in
                try String.fetchAll(
                    db, sql: "SELECT given_name || ' ' || family_name || ' ' || date_of_birth FROM child ORDER BY 1")
            }
        }
        #expect(try await names(cut) == names(whole))
    }
}
