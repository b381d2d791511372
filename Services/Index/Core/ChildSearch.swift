import ContactPointAPI
import GRPCCore
import RecordFields
import Timekeeping

/// A search as the index runs it: the request validated and folded, and the ranking of the
/// candidates the store finds for it.
struct SearchQuery: Sendable {
    /// Folded names ("amelia rose", "smith jones"); nil when not given.
    var given: String?
    var family: String?
    /// Inclusive `YYYY-MM-DD` bounds of the date of birth.
    var bornFrom: String?
    var bornTo: String?
    /// A full postcode ("SW1A 1AA") or an outward code ("SW1A").
    var postcode: String?
    var localAuthority: String?
    /// Worked out once from the names, for every candidate: their parts, and the given name's
    /// parts with every nickname or full name they are known by.
    private(set) var givenParts: [String] = []
    private(set) var familyParts: [String] = []
    private(set) var givenVariants: Set<String> = []

    static let pageSize = 20
    /// The widest date-of-birth range searched by date alone (names misspelled beyond recognition).
    static let narrowBirthRangeDays = 7

    /// Validates a request. A search needs enough to pick a child, not to trawl: a given and a
    /// family name, or a name and a date of birth, or a date of birth and a place.
    init(_ request: Contactpoint_V1_SearchChildrenRequest, today: String, nicknames: Nicknames) throws(RPCError) {
        typealias V = FieldValidation
        if !request.givenName.isEmpty {
            let folded = NameMatching.fold(try V.personName(request.givenName, "given_name"))
            given = folded
            givenParts = NameMatching.parts(folded)
            givenVariants = Set(givenParts).union(givenParts.flatMap { nicknames.variants(of: $0) })
        }
        if !request.familyName.isEmpty {
            let folded = NameMatching.fold(try V.personName(request.familyName, "family_name"))
            family = folded
            familyParts = NameMatching.parts(folded)
        }
        if !request.dateOfBirth.isEmpty {
            guard request.bornFrom.isEmpty, request.bornTo.isEmpty else {
                throw V.invalid(
                    "date_of_birth", "give either an exact date of birth or a range (born_from, born_to), not both")
            }
            bornFrom = try V.pastDate(request.dateOfBirth, "date_of_birth", today: today)
            bornTo = bornFrom
        }
        if !request.bornFrom.isEmpty { bornFrom = try V.pastDate(request.bornFrom, "born_from", today: today) }
        if !request.bornTo.isEmpty { bornTo = try V.pastDate(request.bornTo, "born_to", today: "9999-12-31") }
        if let from = bornFrom, let to = bornTo, from > to {
            throw V.invalid("born_to", "must not be before born_from")
        }
        if !request.postcode.isEmpty {
            let compact = request.postcode.uppercased().filter { $0 != " " }
            if Postcode.isOutward(compact) {
                postcode = compact
            } else {
                postcode = try V.postcode(request.postcode, "postcode")
            }
        }
        if !request.localAuthority.isEmpty {
            localAuthority = try V.localAuthority(request.localAuthority, "local_authority")
        }
        let named = given != nil || family != nil
        let born = bornFrom != nil || bornTo != nil
        let placed = postcode != nil || localAuthority != nil
        guard (given != nil && family != nil) || (named && born) || (born && placed) else {
            throw V.invalid(
                "family_name",
                """
                give a given and a family name, or a name and a date of birth, or a date of birth and a postcode \
                or local authority
                """
            )
        }
    }

    /// The inclusive date-of-birth bounds, either end open; nil without any.
    var birthRange: (String, String)? {
        bornFrom.map { ($0, bornTo ?? "9999-12-31") } ?? bornTo.map { ("0000-01-01", $0) }
    }

    /// A best match at least this good needs no screening of everyone born that day.
    static let confidentScore = 95

    /// Whether the date-of-birth range is narrow enough to read every child born in it.
    var isBirthNarrow: Bool {
        guard let from = bornFrom.flatMap(CalendarDay.init), let to = bornTo.flatMap(CalendarDay.init) else {
            return false
        }
        return from.days(until: to) <= Self.narrowBirthRangeDays
    }

    // MARK: Ranking

    /// Each candidate's match score (0–100), best first, filtered by the query's date of birth
    /// and place. A shielded child's address is hidden, so a postcode never matches it.
    func rank(_ candidates: [IndexStore.Candidate]) -> [(candidate: IndexStore.Candidate, score: Int)] {
        candidates.compactMap { candidate in score(candidate).map { (candidate, $0) } }
            .sorted { a, b in
                if a.score != b.score { return a.score > b.score }
                let left = a.candidate.names[0]
                let right = b.candidate.names[0]
                return (left.family, left.given, a.candidate.id) < (right.family, right.given, b.candidate.id)
            }
    }

    /// Whether a child's current names could score: the screen for children found by date of birth alone.
    func mayMatch(family theirFamily: String, given theirGiven: String) -> Bool {
        nameScore(family: theirFamily, given: theirGiven) != nil
    }

    /// Below this similarity a name given in the query rules the candidate out.
    static let minimumNameSimilarity = 0.75

    func score(_ candidate: IndexStore.Candidate) -> Int? {
        if let from = bornFrom, candidate.dateOfBirth < from { return nil }
        if let to = bornTo, candidate.dateOfBirth > to { return nil }
        if let authority = localAuthority, candidate.localAuthority != authority { return nil }
        if let postcode {
            guard !candidate.shielded, let theirs = candidate.postcode else { return nil }
            guard theirs == postcode || Postcode.outward(of: theirs) == postcode else { return nil }
        }
        guard given != nil || family != nil else { return 100 }
        var best: Double?
        for (index, name) in candidate.names.enumerated() {
            guard let score = nameScore(family: name.family, given: name.given) else { continue }
            // A former name or alias ranks just below the same current name.
            best = max(best ?? 0, score * (index == 0 ? 1 : 0.98))
        }
        return best.map { Int(($0 * 100).rounded()) }
    }

    /// How well one of a child's names matches the query's names (0–1), or nil if a name given
    /// in the query is below ``minimumNameSimilarity``: family name weighs 0.55, given 0.45.
    private func nameScore(family theirFamily: String, given theirGiven: String) -> Double? {
        var total = 0.0
        var weights = 0.0
        if family != nil {
            let similarity = NameMatching.bestSimilarity(
                familyParts, NameMatching.parts(NameMatching.fold(theirFamily)))
            guard similarity >= Self.minimumNameSimilarity else { return nil }
            total += 0.55 * similarity
            weights += 0.55
        }
        if given != nil {
            let theirs = NameMatching.parts(NameMatching.fold(theirGiven))
            var similarity = NameMatching.bestSimilarity(givenParts, theirs)
            // A nickname of the name (Bill for William) is nearly as good as the name itself.
            if similarity < 0.95, !givenVariants.isDisjoint(with: theirs) { similarity = 0.95 }
            guard similarity >= Self.minimumNameSimilarity else { return nil }
            total += 0.45 * similarity
            weights += 0.45
        }
        return weights == 0 ? 1 : total / weights
    }
}
