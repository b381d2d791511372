import RecordFields

/// How well a child fits a search, 0–1: each detail asked is compared with the child's at one of
/// a few levels (exact, a known variant, a likely slip, no fit), and the levels are weighted by
/// how much each detail tells children apart. A detail that does not fit at all rules the child
/// out; so does a place or range that is not the child's.
extension SearchQuery {
    enum Fit {
        // What each detail weighs.
        static let familyWeight = 0.35
        static let givenWeight = 0.30
        static let birthWeight = 0.25
        static let placeWeight = 0.10

        // Levels of a name part against one of the child's.
        static let nickname = 0.9
        static let oneEditApart = 0.85
        static let soundsAlike = 0.8
        /// A part that is not the child's whole name: one half of a hyphenated family name, a middle name.
        static let partOnly = 0.97
        /// The given and family names asked the other way round.
        static let namesSwapped = 0.95
        /// One of the child's other names (former name, alias) rather than the current one.
        static let otherName = 0.98

        // Levels of an exact date of birth against the child's.
        static let birthDayAndMonthSwapped = 0.8
        static let nearBirth = 0.75
    }

    /// Below this score (0–100) no child is shown: every detail asked fits at least at a
    /// likely-slip level.
    static let minimumScore = 80
    /// A best match at least this good ends the search: nothing it has not read yet could fit better.
    static let confidentScore = 0.96

    /// Each candidate with its score (0–1), best first; ties, children who fit exactly as well,
    /// in ContactPoint ID order (random, so no name is favoured).
    func rank(_ scored: [(candidate: IndexStore.Candidate, score: Double)]) -> [(
        candidate: IndexStore.Candidate, score: Double
    )] {
        scored.sorted { a, b in a.score != b.score ? a.score > b.score : a.candidate.id < b.candidate.id }
    }

    /// How well a child fits (0–1), or nil when it does not fit well enough to be shown. A
    /// shielded child's address is hidden, so a postcode never matches it.
    func score(_ candidate: IndexStore.Candidate) -> Double? {
        if let authority = localAuthority, candidate.localAuthority != authority { return nil }
        var total = 0.0
        var weights = 0.0
        if bornFrom != nil || bornTo != nil {
            guard let fit = birthFit(candidate.dateOfBirth) else { return nil }
            total += Fit.birthWeight * fit
            weights += Fit.birthWeight
        }
        if let postcode {
            guard !candidate.shielded, let theirs = candidate.postcode,
                theirs == postcode || (!isFullPostcode && Postcode.outward(of: theirs) == postcode)
            else { return nil }
            total += Fit.placeWeight
            weights += Fit.placeWeight
        }
        if given != nil || family != nil {
            var best: Double?
            for (index, name) in candidate.names.enumerated() {
                guard let fit = nameFit(family: name.family, given: name.given) else { continue }
                best = max(best ?? 0, fit * (index == 0 ? 1 : Fit.otherName))
            }
            guard let best else { return nil }
            let weight = (family != nil ? Fit.familyWeight : 0) + (given != nil ? Fit.givenWeight : 0)
            total += weight * best
            weights += weight
        }
        let score = weights == 0 ? 1 : total / weights
        return score * 100 >= Double(Self.minimumScore) ? score : nil
    }

    /// How well the date of birth fits: 1 within the range asked, less on a date near the exact one asked.
    private func birthFit(_ theirs: String) -> Double? {
        if let from = bornFrom, theirs < from { return nearBirths[theirs] }
        if let to = bornTo, theirs > to { return nearBirths[theirs] }
        return 1
    }

    /// How well one of a child's names fits the names asked (0–1, family and given weighted), the
    /// other way round too; nil when a name asked does not fit. Also the screen of children read
    /// by code or date of birth before they are read whole.
    func nameFit(family theirFamily: String, given theirGiven: String) -> Double? {
        let theirFamilyParts = NameMatching.parts(NameMatching.fold(theirFamily))
        let theirGivenParts = NameMatching.parts(NameMatching.fold(theirGiven))
        func combined(_ familyFit: Double?, _ givenFit: Double?) -> Double? {
            var total = 0.0
            var weights = 0.0
            if family != nil {
                guard let familyFit else { return nil }
                total += Fit.familyWeight * familyFit
                weights += Fit.familyWeight
            }
            if given != nil {
                guard let givenFit else { return nil }
                total += Fit.givenWeight * givenFit
                weights += Fit.givenWeight
            }
            return total / weights
        }
        let direct = combined(
            family.flatMap { Self.fit($0, theirFamilyParts, isGiven: false) },
            given.flatMap { Self.fit($0, theirGivenParts, isGiven: true) })
        guard let family, let given, direct ?? 0 < 1 else { return direct }
        let swapped = combined(
            Self.fit(family, theirGivenParts, isGiven: true), Self.fit(given, theirFamilyParts, isGiven: false)
        ).map { $0 * Fit.namesSwapped }
        let best = max(direct ?? 0, swapped ?? 0)
        return best > 0 ? best : nil
    }

    /// The best fit of any part asked with any part of the child's name, or nil for none.
    /// A given name's first part counts as the whole (a middle name is often left out).
    private static func fit(_ asked: AskedName, _ theirs: [String], isGiven: Bool) -> Double? {
        guard let theirWhole = theirs.last, let askedWhole = asked.parts.last else { return nil }
        var best = 0.0
        for part in asked.parts {
            for their in theirs {
                var level = partFit(part, their, variants: asked.variants)
                guard level > 0 else { continue }
                let whole =
                    isGiven ? their == theirs[0] || their == theirWhole : part == askedWhole && their == theirWhole
                if !whole { level *= Fit.partOnly }
                best = max(best, level)
            }
        }
        return best > 0 ? best : nil
    }

    /// One name part asked against one of the child's: exact, a nickname, one letter off, or
    /// sounding alike and spelt closely; 0 for none of these.
    private static func partFit(_ asked: String, _ theirs: String, variants: Set<String>) -> Double {
        if asked == theirs { return 1 }
        if variants.contains(theirs) { return Fit.nickname }
        if min(asked.utf8.count, theirs.utf8.count) >= 3, NameMatching.isOneEditApart(asked, theirs) {
            return Fit.oneEditApart
        }
        let similarity = NameMatching.similarity(asked, theirs)
        if similarity >= 0.92 || (similarity >= 0.7 && NameMatching.soundCode(asked) == NameMatching.soundCode(theirs))
        {
            return Fit.soundsAlike
        }
        return 0
    }
}
