import ContactPointAPI
import GRDB
import GRPCCore
import Testing
import Timekeeping

@testable import Index

@Suite("Search")
struct SearchTests {
    typealias Request = Contactpoint_V1_SearchChildrenRequest

    /// A population where the right child has look-alikes: same name other birthday, same
    /// birthday other name, similar names.
    static let population: [Contactpoint_V1_ChildEntry] = [
        IndexFixture.child("Amelia", "Smith", born: "2015-04-01"),
        IndexFixture.child("Amelia", "Smith", born: "2015-05-01", postcode: "M1 1AE"),
        IndexFixture.child("Emily", "Smith", born: "2015-04-01"),
        IndexFixture.child("Amelia", "Jones", born: "2015-04-01"),
        IndexFixture.child("Amelie", "Smithson", born: "2015-04-01"),
        IndexFixture.child("William", "Brown", born: "2014-06-12", gender: .male),
        IndexFixture.child("Wilma", "Brown", born: "2014-06-12"),
        IndexFixture.child("Oliver", "Smith-Jones", born: "2013-09-30", gender: .male),
        IndexFixture.child("Grace", "Taylor", born: "2012-01-15") {
            $0.otherNames = [
                .with {
                    $0.given = "Grace"
                    $0.family = "Evans"
                }
            ]
        },
        IndexFixture.child("Catherine", "O'Neill", born: "2016-11-02"),
        IndexFixture.child("Hollie", "Smith", born: "2011-02-03", postcode: "LS1 4AP"),
        IndexFixture.child("Jack", "Walker", born: "2010-07-08", postcode: "LS1 4AP", gender: .male),
    ]

    @Test(
        """
        the variations real searches have find the right child first: names the other way round, day and month \
        swapped (also written day first), part of a date, a consonant misspelt beyond its sound code over a wide \
        range, a postcode with or without a name
        """,
        arguments: [
            (request(given: "Smith", family: "Amelia", born: "2015-04-01"), 0),
            (request(given: "Amelia", family: "Smith", born: "2015-01-04"), 0),
            (request(given: "Amelia", family: "Smith", born: "2015-05"), 1),
            (request(given: "Oliver", family: "Smith-Jones", born: "2013"), 7),
            (request(given: "Olivier", family: "Jones", born: "2013-30-09"), 7),
            (request(given: "Amelia", family: "Dmith", bornFrom: "2014-01-01", bornTo: "2015-04-30"), 0),
            (request(given: "Gtace", family: "Taylor", bornFrom: "2000-01-01", bornTo: "2020-12-31"), 8),
            (request(given: "Jack", postcode: "LS1 4AP"), 11),
            (request(given: "Jakc", postcode: "ls14ap"), 11),
            (request(family: "Walker", born: "2010-08-07"), 11),
        ])
    func findsRealVariations(request: Request, expected: Int) async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            let found = try await index.searchChildren(request, metadata: try fixture.session())
            #expect(
                found.matches.first?.childID == ids[expected],
                "\(request): \(found.matches.map { "\($0.givenName) \($0.familyName) \($0.score)" })")
        }
    }

    @Test(
        """
        no child is shown below the documented score: Oliver Smyth does not show Hollie Smith; a postcode alone \
        shows the children living there, in ContactPoint ID order (equal fits), never by name
        """
    )
    func thresholdAndTies() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            let smyth = try await index.searchChildren(
                Self.request(given: "Oliver", family: "Smyth"), metadata: try fixture.session())
            #expect(smyth.matches.allSatisfy { $0.score >= SearchQuery.minimumScore })
            #expect(!smyth.matches.contains { $0.givenName == "Hollie" }, "\(smyth.matches)")
            let street = try await index.searchChildren(
                Self.request(postcode: "SW1A 1AA"), metadata: try fixture.session())
            let living = Set(ids.indices.filter { ![1, 10, 11].contains($0) }.map { ids[$0] })
            #expect(Set(street.matches.map(\.childID)) == living)
            #expect(street.matches.map(\.childID) == street.matches.map(\.childID).sorted())
            #expect(street.matches.allSatisfy { $0.score == 100 })
        }
    }

    @Test(
        """
        misspelt (also beyond the sound code: Smish), transposed, nickname, hyphenated and former names find the \
        right child, ranked first
        """,
        arguments: [
            ("Amelia", "Smtih", "2015-04-01", 0), ("Amelia", "Smish", "2015-04-01", 0),
            ("Amleia", "Smith", "2015-04-01", 0), ("Amela", "Smith", "2015-04-01", 0),
            ("amelia", "SMITH", "2015-04-01", 0), ("Bill", "Brown", "2014-06-12", 5), ("Will", "Browne", "", 5),
            ("Oliver", "Jones", "2013-09-30", 7),
            ("Oliver", "Smith Jones", "", 7), ("Grace", "Evans", "", 8), ("Kathryn", "O'Neil", "2016-11-02", 9),
            ("Katy", "Oneill", "", 9),
        ])
    func findsVariants(given: String, family: String, born: String, expected: Int) async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            let found = try await index.searchChildren(
                Self.request {
                    $0.givenName = given
                    $0.familyName = family
                    $0.dateOfBirth = born
                }, metadata: try fixture.session())
            #expect(
                found.matches.first?.childID == ids[expected],
                "\(given) \(family) \(born): \(found.matches.map { "\($0.givenName) \($0.familyName) \($0.score)" })")
            #expect(found.matches.first?.score ?? 0 >= 80)
        }
    }

    @Test("a date of birth narrows a name to the right child; a range includes its ends")
    func dateOfBirth() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            let exact = try await index.searchChildren(
                Self.request {
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                    $0.dateOfBirth = "2015-05-01"
                }, metadata: try fixture.session())
            #expect(exact.matches.map(\.childID) == [ids[1]])
            let range = try await index.searchChildren(
                Self.request {
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                    $0.bornFrom = "2015-04-01"
                    $0.bornTo = "2015-05-01"
                }, metadata: try fixture.session())
            #expect(Set(range.matches.prefix(2).map(\.childID)) == [ids[0], ids[1]])
            // A date of birth with a place and no name: everyone born then, there.
            let place = try await index.searchChildren(
                Self.request {
                    $0.dateOfBirth = "2015-04-01"
                    $0.postcode = "SW1A"
                }, metadata: try fixture.session())
            #expect(Set(place.matches.map(\.childID)) == [ids[0], ids[2], ids[3], ids[4]])
            let authority = try await index.searchChildren(
                Self.request {
                    $0.dateOfBirth = "2015-04-01"
                    $0.localAuthority = IndexFixture.authority
                }, metadata: try fixture.session())
            #expect(Set(authority.matches.map(\.childID)) == [ids[0], ids[2], ids[3], ids[4]])
            let elsewhere = try await index.searchChildren(
                Self.request {
                    $0.dateOfBirth = "2015-04-01"
                    $0.localAuthority = IndexFixture.otherAuthority
                }, metadata: try fixture.session())
            #expect(elsewhere.matches.isEmpty)
        }
    }

    @Test(
        """
        a given name and a range of dates of any width find the child (no family name to look under: read by date \
        of birth)
        """
    )
    func givenNameAndRange() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            for (from, to) in [
                ("2013-09-01", "2013-09-30"), ("2013-01-01", "2013-12-31"), ("2008-01-01", "2018-12-31"),
            ] {
                let found = try await index.searchChildren(
                    Self.request {
                        $0.givenName = "Oliver"
                        $0.bornFrom = from
                        $0.bornTo = to
                    }, metadata: try fixture.session())
                #expect(
                    found.matches.first?.childID == ids[7],
                    "\(from)–\(to): \(found.matches.map { "\($0.givenName) \($0.familyName)" })")
            }
        }
    }

    @Test("a range with more children born in it than a search reads says so, never that no child matches")
    func unreadChildrenAreReported() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            _ = try await fixture.put(Self.population, index)
            let query = try SearchQuery(
                Self.request {
                    $0.givenName = "Oliver"
                    $0.bornFrom = "2012-01-01"
                    $0.bornTo = "2016-12-31"
                }, today: "2026-12-02",
                nicknames: .standard)
            // Oliver (2013-09-30) is the second child born in the range: a scan of one does not read him
            let (short, truncated) = try await fixture.store.search(query, birthScanLimit: 1)
            #expect(short.isEmpty && truncated)
            let (whole, complete) = try await fixture.store.search(query, birthScanLimit: 20)
            #expect(whole.first?.candidate.names.first?.family == "Smith-Jones" && !complete)
        }
    }

    @Test(
        "a result holds only what is needed to pick the child: name, birth date, gender, authority, postcode district")
    func minimalResult() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(Self.population, index)
            let found = try await index.searchChildren(
                Self.request {
                    $0.givenName = "Amelia"
                    $0.familyName = "Smith"
                    $0.dateOfBirth = "2015-04-01"
                }, metadata: try fixture.session())
            let match = try #require(found.matches.first)
            #expect(
                match
                    == .with {
                        $0.childID = ids[0]
                        $0.givenName = "Amelia"
                        $0.familyName = "Smith"
                        $0.dateOfBirth = "2015-04-01"
                        $0.gender = .female
                        $0.localAuthority = IndexFixture.authority
                        $0.postcodeDistrict = "SW1A"
                        $0.score = match.score
                    })
        }
    }

    @Test("a query that fits more children than a page shows a page and says more match, never that none does")
    func moreThanAPage() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let first = CalendarDay("2010-01-01")!
            _ = try await fixture.put(
                (0..<SearchQuery.pageSize + 5).map {
                    IndexFixture.child("Amelia", "Smith", born: first.adding(days: $0).description)
                }, index)
            let found = try await index.searchChildren(
                Self.request(given: "Amelia", family: "Smith"), metadata: try fixture.session())
            #expect(found.matches.count == SearchQuery.pageSize && found.moreMatches)
            #expect(found.matches.allSatisfy { $0.score == 100 })
        }
    }

    @Test("a child born on the date as written does not hide the one born with day and month the other way round")
    func swappedDateBesideExact() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            let ids = try await fixture.put(
                Self.population + [IndexFixture.child("Amelia", "Smith", born: "2015-01-04")], index)
            let found = try await index.searchChildren(
                Self.request(given: "Amelia", family: "Smith", born: "2015-01-04"), metadata: try fixture.session())
            #expect(Array(found.matches.prefix(2).map(\.childID)) == [ids.last!, ids[0]], "\(found.matches)")
        }
    }

    @Test(
        """
        a hyphenated name is looked for whole before its halves: Tony Day-Price is found by name alone among more \
        Tony Prices than one search reads
        """
    )
    func hyphenatedNameAmongMany() async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            // Given more Tony Prices than a search reads, and one Tony Day-Price, filed after all of them
            let first = CalendarDay("2012-01-01")!
            for batch in stride(from: 0, to: IndexStore.candidateLimit + 100, by: 1000) {
                _ = try await fixture.put(
                    (batch..<batch + 1000).map {
                        IndexFixture.child("Tony", "Price", born: first.adding(days: $0 % 4000).description)
                    }, index)
            }
            let wanted = try await fixture.put([IndexFixture.child("Tony", "Day-Price", born: "2025-06-01")], index)[0]
            // When a practitioner searches by the names alone
            let found = try await index.searchChildren(
                Self.request(given: "Tony", family: "Day-Price"), metadata: try fixture.session())
            // Then Tony Day-Price comes first
            #expect(found.matches.first?.childID == wanted, "\(found.matches.prefix(3))")
        }
    }

    @Test("an index made by the previous version gains the postcode index, and a postcode alone finds its children")
    func postcodeIndexMigration() async throws {
        // Given an index of the previous version, without the postcode index
        let previous = try IndexFixture()
        let ids = try await previous.run { index in try await previous.put(Self.population, index) }
        try await previous.store.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP INDEX child_address_by_postcode")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '4: children by postcode'")
            _ = try db.checkpoint(.truncate)
        }
        // When this version opens it
        let fixture = try IndexFixture(copying: "\(previous.directory)/index.sqlite")
        try await fixture.run { index in
            // Then the index is there and a search by postcode reads it
            let plan = try await fixture.store.writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: "EXPLAIN QUERY PLAN SELECT child_row FROM child_address WHERE postcode = ? AND position = 0",
                    arguments: ["LS1 4AP"]
                ).map { $0["detail"] as String }
            }
            #expect(plan.joined().contains("child_address_by_postcode"), "\(plan)")
            let found = try await index.searchChildren(
                Self.request(postcode: "LS1 4AP"), metadata: try fixture.session())
            #expect(Set(found.matches.map(\.childID)) == [ids[10], ids[11]])
        }
    }

    static func request(
        given: String = "", family: String = "", born: String = "", bornFrom: String = "", bornTo: String = "",
        postcode: String = ""
    ) -> Request {
        request {
            $0.givenName = given
            $0.familyName = family
            $0.dateOfBirth = born
            $0.bornFrom = bornFrom
            $0.bornTo = bornTo
            $0.postcode = postcode
        }
    }

    static func request(_ configure: (inout Request) -> Void) -> Request {
        var request = Request.with { $0.reason = IndexFixture.reason }
        configure(&request)
        return request
    }

    @Test(
        "a search too vague to pick a child, or with a malformed field, is INVALID_ARGUMENT naming the field",
        arguments: [
            ("family_name", request { $0.familyName = "Smith" }), ("family_name", request { $0.postcode = "SW1A" }),
            (
                "given_name",
                request {
                    $0.givenName = "4melia"
                    $0.familyName = "Smith"
                }
            ),
            (
                "date_of_birth",
                request {
                    $0.familyName = "Smith"
                    $0.dateOfBirth = "2015-02-30"
                }
            ),
            (
                "born_to",
                request {
                    $0.familyName = "Smith"
                    $0.bornFrom = "2015-02-01"
                    $0.bornTo = "2014-01-01"
                }
            ),
            (
                "postcode",
                request {
                    $0.givenName = "A"
                    $0.familyName = "Smith"
                    $0.postcode = "NOT A POSTCODE"
                }
            ),
        ])
    func vague(field: String, request: Request) async throws {
        let fixture = try IndexFixture()
        try await fixture.run { index in
            _ = try await fixture.put(Self.population, index)
            let error = await #expect(throws: RPCError.self) {
                try await index.searchChildren(request, metadata: try fixture.session())
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix("\(field):") == true, "\(error?.message ?? "")")
            #expect(try await fixture.auditOutbox().filter { $0.action == "index/search" }.isEmpty)
        }
    }
}
