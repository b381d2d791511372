import ContactPointAPI
import Foundation
import GRPCCore
import Index
import Timekeeping

/// Search quality (`BENCH_ONLY=quality`): queries made from children on the index with the
/// variations real searches have (misspellings, nicknames, one half of a hyphenated name, names
/// the other way round, day and month swapped, part of a date, ranges of any width, a postcode
/// alone, names alone), sent through SearchChildren like any practitioner's.
///
/// A query *identifies one child* when its details, read correctly (the misspelt name as it
/// should have been, the swapped date the right way round), fit that child alone; for those the
/// goal is the child among the first 5 results in at least 99.5 % of queries. A query that fits
/// more children than a page must say so (`more_matches`), and none may be answered "no child
/// matches". Queries for children who are not on the index measure the other failure: a wrong
/// child shown as a near-certain match (score 95 or more).
enum SearchQuality {
    /// A child as the measurement needs it: its details, and their folded parts.
    struct Child: Sendable {
        var id: String
        var given: String
        var family: String
        var dateOfBirth: String
        var postcode: String
        var givenParts: [String]
        var familyParts: [String]
    }

    enum Variation: String, CaseIterable {
        case exact = "names and date of birth"
        case givenMisspelt = "given name misspelt"
        case familyMisspelt = "family name misspelt"
        case nickname = "nickname"
        case hyphenatedHalf = "one half of a hyphenated name"
        case namesSwapped = "given and family swapped"
        case dayMonthSwapped = "day and month swapped"
        case yearOnly = "names, year of birth"
        case monthOnly = "names, month of birth"
        case dateRange = "names, a range of any width"
        case postcodeOnly = "postcode only"
        case nameOnly = "names only"
        case givenAndBirth = "given name and date of birth"
        case familyAndBirth = "family name and date of birth"
        case givenAndPostcode = "given name and postcode"
        case birthAndPostcode = "date of birth and postcode"
        case misspeltAndSwappedDate = "misspelt, day and month swapped"
    }

    /// What a query asks, read correctly: the details that decide which children fit it.
    struct Truth {
        var given: String?
        var family: String?
        var bornFrom: String?
        var bornTo: String?
        var postcode: String?
    }

    struct Query {
        var variation: Variation
        var request: Contactpoint_V1_SearchChildrenRequest
        var child: Int
        var truth: Truth
    }

    /// Children by folded name part, by date of birth and by postcode: where to count those who fit.
    struct Population {
        var children: [Child] = []
        var byFamilyPart: [String: [Int32]] = [:]
        var byGivenPart: [String: [Int32]] = [:]
        var byBirth: [String: [Int32]] = [:]
        var byPostcode: [String: [Int32]] = [:]

        mutating func add(_ child: Contactpoint_V1_ChildDetails, id: String) {
            let position = Int32(children.count)
            let givenParts = SearchQuality.parts(child.name.given)
            let familyParts = Array(
                Set(([child.name] + child.otherNames).flatMap { SearchQuality.parts($0.family) }))
            children.append(
                Child(
                    id: id, given: child.name.given, family: child.name.family, dateOfBirth: child.dateOfBirth,
                    postcode: child.address.postcode, givenParts: givenParts, familyParts: familyParts))
            for part in familyParts { byFamilyPart[part, default: []].append(position) }
            for part in Set(givenParts) { byGivenPart[part, default: []].append(position) }
            byBirth[child.dateOfBirth, default: []].append(position)
            byPostcode[child.address.postcode, default: []].append(position)
        }

        /// How many children fit a query read correctly (stops counting at `limit`).
        func fitting(_ truth: Truth, limit: Int = 1000) -> Int {
            var buckets: [[Int32]] = []
            if let family = truth.family { buckets.append(byFamilyPart[family] ?? []) }
            if let postcode = truth.postcode { buckets.append(byPostcode[postcode] ?? []) }
            if let from = truth.bornFrom, from == truth.bornTo { buckets.append(byBirth[from] ?? []) }
            if let given = truth.given { buckets.append(byGivenPart[given] ?? []) }
            guard let smallest = buckets.min(by: { $0.count < $1.count }) else { return 0 }
            var count = 0
            for position in smallest {
                let child = children[Int(position)]
                if let family = truth.family, !child.familyParts.contains(family) { continue }
                if let given = truth.given, !child.givenParts.contains(given) { continue }
                if let postcode = truth.postcode, child.postcode != postcode { continue }
                if let from = truth.bornFrom, child.dateOfBirth < from { continue }
                if let to = truth.bornTo, child.dateOfBirth > to { continue }
                count += 1
                if count >= limit { break }
            }
            return count
        }
    }

    /// Folded parts of a name, as search compares them: lower-case letters, split at spaces and
    /// hyphens, and for a name of several parts the parts joined.
    static func parts(_ name: String) -> [String] {
        let parts = name.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" }).map {
            String($0.filter { $0.isLetter })
        }
        return parts.count > 1 ? parts + [parts.joined()] : parts
    }

    // MARK: Making queries

    struct Maker {
        var random: SeededGenerator
        let population: Population
        let today: String

        /// A query of this variation about a child that allows it (a hyphenated name, a day that
        /// can be a month, a given name with a nickname), or nil after many tries.
        mutating func query(_ variation: Variation) -> Query? {
            for _ in 0..<1000 {
                let position = Int(random.next() % UInt64(population.children.count))
                if let query = query(variation, about: position) { return query }
            }
            return nil
        }

        private mutating func query(_ variation: Variation, about position: Int) -> Query? {
            let child = population.children[position]
            let given = String(child.given.split(separator: " ")[0])
            let family = child.family
            let givenFolded = SearchQuality.parts(given)[0]
            let familyFolded = SearchQuality.parts(family).last!
            var request = Contactpoint_V1_SearchChildrenRequest.with {
                $0.reason = .with { $0.code = .contactPractitioners }
            }
            var truth = Truth()
            func names() {
                request.givenName = given
                request.familyName = family
                truth.given = givenFolded
                truth.family = familyFolded
            }
            func born() {
                request.dateOfBirth = child.dateOfBirth
                truth.bornFrom = child.dateOfBirth
                truth.bornTo = child.dateOfBirth
            }
            switch variation {
            case .exact:
                names()
                born()
            case .givenMisspelt:
                names()
                born()
                guard let misspelt = misspell(given) else { return nil }
                request.givenName = misspelt
            case .familyMisspelt:
                names()
                born()
                guard let misspelt = misspell(family) else { return nil }
                request.familyName = misspelt
            case .nickname:
                names()
                born()
                guard let nickname = Nicknames.standard.variants(of: givenFolded).sorted().randomElement(using: &random)
                else { return nil }
                request.givenName = nickname.capitalized
            case .hyphenatedHalf:
                let halves = family.split(separator: "-")
                guard halves.count == 2 else { return nil }
                let half = String(halves[Int(random.next() % 2)])
                names()
                born()
                request.familyName = half
                truth.family = SearchQuality.parts(half)[0]
            case .namesSwapped:
                names()
                born()
                (request.givenName, request.familyName) = (family, given)
            case .dayMonthSwapped:
                names()
                born()
                guard let day = CalendarDay(child.dateOfBirth), day.day <= 12, day.day != day.month,
                    let swapped = CalendarDay(year: day.year, month: day.day, day: day.month),
                    swapped.description <= today
                else { return nil }
                request.dateOfBirth = swapped.description
            case .yearOnly:
                names()
                request.dateOfBirth = String(child.dateOfBirth.prefix(4))
                (truth.bornFrom, truth.bornTo) = ("\(request.dateOfBirth)-01-01", "\(request.dateOfBirth)-12-31")
            case .monthOnly:
                names()
                request.dateOfBirth = String(child.dateOfBirth.prefix(7))
                (truth.bornFrom, truth.bornTo) = ("\(request.dateOfBirth)-01", "\(request.dateOfBirth)-31")
            case .dateRange:
                names()
                guard let day = CalendarDay(child.dateOfBirth), let last = CalendarDay(today) else { return nil }
                // Widths from a day to ten years, spread evenly on a log scale.
                let width = Int(pow(3650, Double(random.next() % 1000) / 1000))
                let before = Int(random.next() % UInt64(width + 1))
                let from = day.adding(days: -before)
                let to = min(from.adding(days: width), last)
                (request.bornFrom, request.bornTo) = (from.description, to.description)
                (truth.bornFrom, truth.bornTo) = (from.description, to.description)
            case .postcodeOnly:
                request.postcode = child.postcode
                truth.postcode = child.postcode
            case .nameOnly:
                names()
            case .givenAndBirth:
                born()
                request.givenName = given
                truth.given = givenFolded
            case .familyAndBirth:
                born()
                request.familyName = family
                truth.family = familyFolded
            case .givenAndPostcode:
                request.givenName = given
                truth.given = givenFolded
                request.postcode = child.postcode
                truth.postcode = child.postcode
            case .birthAndPostcode:
                born()
                request.postcode = child.postcode
                truth.postcode = child.postcode
            case .misspeltAndSwappedDate:
                guard var query = query(.dayMonthSwapped, about: position), let misspelt = misspell(given) else {
                    return nil
                }
                query.request.givenName = misspelt
                query.variation = variation
                return query
            }
            return Query(variation: variation, request: request, child: position, truth: truth)
        }

        /// One slip of the keyboard or the ear, anywhere in the name: two letters swapped, one
        /// dropped, doubled, replaced or added.
        mutating func misspell(_ name: String) -> String? {
            var letters = Array(name)
            guard letters.count >= 4 else { return nil }
            let at = Int(random.next() % UInt64(letters.count - 1))
            guard letters[at].isLetter, letters[at + 1].isLetter else { return nil }
            let alphabet = Array("abcdefghijklmnopqrstuvwxyz")
            let letter = alphabet[Int(random.next() % 26)]
            switch random.next() % 5 {
            case 0: letters.swapAt(at, at + 1)
            case 1: letters.remove(at: at)
            case 2: letters.insert(letters[at], at: at)
            case 3: letters[at] = letter
            default: letters.insert(letter, at: at)
            }
            let misspelt = String(letters)
            return misspelt.lowercased() == name.lowercased() ? nil : misspelt
        }

        /// A query for a child who is not on the index: names and a date of birth that no child has.
        mutating func absentChild() -> Contactpoint_V1_SearchChildrenRequest? {
            for _ in 0..<100 {
                let a = population.children[Int(random.next() % UInt64(population.children.count))]
                let b = population.children[Int(random.next() % UInt64(population.children.count))]
                let c = population.children[Int(random.next() % UInt64(population.children.count))]
                let given = String(a.given.split(separator: " ")[0])
                let truth = Truth(
                    given: SearchQuality.parts(given)[0], family: SearchQuality.parts(b.family).last!,
                    bornFrom: c.dateOfBirth, bornTo: c.dateOfBirth)
                guard population.fitting(truth, limit: 1) == 0 else { continue }
                return .with {
                    $0.reason = .with { $0.code = .contactPractitioners }
                    $0.givenName = given
                    $0.familyName = b.family
                    $0.dateOfBirth = c.dateOfBirth
                }
            }
            return nil
        }
    }

    /// A seeded generator, so that a run's queries can be made again.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: Measuring

    struct Tally {
        var queries = 0
        var identifying = 0
        var inFirstFive = 0
        var first = 0
        var shown = 0
        var missedExamples: [String] = []
        /// Queries that fit more children than a page but did not say so.
        var unsaidMore = 0
        /// Queries answered "no child matches" although a child fits.
        var noChildWrongly = 0
        var refused = 0
        /// Each query's time through the broker, in milliseconds.
        var milliseconds: [Double] = []

        func percentile(_ share: Double) -> String {
            guard !milliseconds.isEmpty else { return "–" }
            let sorted = milliseconds.sorted()
            return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))])
        }
    }

    /// The most children one SearchChildren answer holds.
    static let page = 20

    static func run(
        population: Population, index: Contactpoint_V1_Index.Client<some ClientTransport>, session: Metadata,
        perVariation: Int, seed: UInt64
    ) async throws {
        let today = CalendarDay(inEngland: Instant(Date())).description
        var maker = Maker(random: .init(state: seed), population: population, today: today)
        var tallies: [Variation: Tally] = [:]
        let clock = ContinuousClock()
        let start = clock.now
        for variation in Variation.allCases {
            var tally = Tally()
            for _ in 0..<perVariation {
                guard let query = maker.query(variation) else { continue }
                tally.queries += 1
                let fitting = population.fitting(query.truth)
                let found: Contactpoint_V1_SearchChildrenResponse
                let asked = clock.now
                do {
                    found = try await index.searchChildren(query.request, metadata: session)
                    tally.milliseconds.append((clock.now - asked) / .milliseconds(1))
                } catch let error as RPCError {
                    tally.refused += 1
                    if fitting == 1 { tally.identifying += 1 }
                    if tally.missedExamples.count < 5 { tally.missedExamples.append("\(error)") }
                    continue
                }
                let ids = found.matches.map(\.childID)
                tally.shown += ids.count
                if found.matches.isEmpty, !found.moreMatches { tally.noChildWrongly += 1 }
                if fitting > page, !found.moreMatches { tally.unsaidMore += 1 }
                guard fitting == 1 else { continue }
                tally.identifying += 1
                let wanted = population.children[query.child].id
                if ids.first == wanted { tally.first += 1 }
                if ids.prefix(5).contains(wanted) {
                    tally.inFirstFive += 1
                } else if tally.missedExamples.count < 5 {
                    let child = population.children[query.child]
                    tally.missedExamples.append(
                        """
                        asked \(describe(query.request)) for \(child.given) \(child.family) \(child.dateOfBirth) \
                        \(child.postcode); shown \(found.matches.prefix(5).map { "\($0.givenName) \($0.familyName) \($0.dateOfBirth) \($0.score)" })\
                        \(found.moreMatches ? " and more" : "")
                        """)
                }
            }
            tallies[variation] = tally
        }
        var absent = (queries: 0, shown: 0, nearCertain: 0)
        for _ in 0..<perVariation {
            guard let request = maker.absentChild() else { continue }
            let found = try await index.searchChildren(request, metadata: session)
            absent.queries += 1
            absent.shown += found.matches.count
            if (found.matches.first?.score ?? 0) >= 95 { absent.nearCertain += 1 }
        }
        let seconds = (clock.now - start) / .seconds(1)
        report(tallies, absent: absent, children: population.children.count, seconds: seconds)
    }

    static func describe(_ request: Contactpoint_V1_SearchChildrenRequest) -> String {
        [
            request.givenName, request.familyName, request.dateOfBirth,
            request.bornFrom.isEmpty ? "" : "\(request.bornFrom)…\(request.bornTo)", request.postcode,
        ].filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func report(
        _ tallies: [Variation: Tally], absent: (queries: Int, shown: Int, nearCertain: Int), children: Int,
        seconds: Double
    ) {
        func percent(_ part: Int, _ whole: Int) -> String {
            whole == 0 ? "–" : String(format: "%.1f %%", 100 * Double(part) / Double(whole))
        }
        print("search quality over \(children) children (\(String(format: "%.0f", seconds)) s):")
        print(
            """
            | query | queries | identify one child | right child in first 5 | first | shown per query | more fit, \
            unsaid | "no child" wrongly | refused | p50 / p99 ms |
            """)
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        var total = Tally()
        for variation in Variation.allCases {
            guard let tally = tallies[variation] else { continue }
            total.queries += tally.queries
            total.identifying += tally.identifying
            total.inFirstFive += tally.inFirstFive
            total.first += tally.first
            total.shown += tally.shown
            total.unsaidMore += tally.unsaidMore
            total.noChildWrongly += tally.noChildWrongly
            total.refused += tally.refused
            total.milliseconds += tally.milliseconds
            print(row(variation.rawValue, tally, percent))
        }
        print(row("**all**", total, percent))
        print(
            """
            children not on the index: \(absent.queries) queries, \(String(format: "%.2f", Double(absent.shown) / Double(max(1, absent.queries)))) \
            children shown per query, a child shown at 95 or more in \(absent.nearCertain)
            """)
        for variation in Variation.allCases {
            for example in tallies[variation]?.missedExamples ?? [] {
                print("missed (\(variation.rawValue)): \(example)")
            }
        }
    }

    private static func row(_ name: String, _ tally: Tally, _ percent: (Int, Int) -> String) -> String {
        """
        | \(name) | \(tally.queries) | \(tally.identifying) | \(percent(tally.inFirstFive, tally.identifying)) | \
        \(percent(tally.first, tally.identifying)) | \
        \(String(format: "%.1f", Double(tally.shown) / Double(max(1, tally.queries - tally.refused)))) | \
        \(tally.unsaidMore) | \(tally.noChildWrongly) | \(tally.refused) | \
        \(tally.percentile(0.5)) / \(tally.percentile(0.99)) |
        """
    }
}
