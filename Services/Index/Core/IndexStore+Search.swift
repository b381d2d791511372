import ContactPointAPI
import GRDB

extension IndexStore {
    /// A child as search sees it: names, date of birth, place, and whether it is shielded.
    struct Candidate: Sendable {
        var id: Int64
        var row: Int64
        var names: [Contactpoint_V1_PersonName]
        var dateOfBirth: String
        var gender: Contactpoint_V1_Gender
        var localAuthority: String
        var shielded: Bool
        /// The current address's postcode (nil without one).
        var postcode: String?
    }

    /// The most children one way of looking reads whole and ranks: the best by name of those it
    /// screened. Beyond this the search says that more may fit and asks for more detail.
    static let candidateLimit = 1000
    /// The most children one way of looking screens by name: filed under the codes asked, or born
    /// in the queried days.
    static let screenLimit = 20_000
    static let birthScanLimit = screenLimit

    /// The children who fit a query, best first, and whether more may fit than were read (the
    /// caller must then narrow the search: it is never told "no child" of children that were
    /// not read). The ways of looking, cheapest first, until one finds a child who fits well
    /// (``SearchQuery/confidentScore``):
    ///
    /// 1. with a full postcode, the children living there (then nothing else is needed);
    /// 2. those filed under the sound codes of the names (and the given name's nicknames), a
    ///    family name of several parts first whole, either way round, born on the date asked or a
    ///    near one, or in the range;
    /// 3. the children born on the date asked (or with day and month swapped), or in a narrow
    ///    range, or in any range when no family name was given, screened by name straight from
    ///    the date-of-birth index: a name misspelt beyond its sound code; at most `birthScanLimit`;
    /// 4. those filed under the sound codes of one-letter misspellings of either name.
    func search(
        _ query: SearchQuery, birthScanLimit: Int = birthScanLimit
    ) async throws -> (ranked: [(candidate: Candidate, score: Double)], truncated: Bool) {
        try await lookups.read { db in
            var gathered = Gathered(query: query)
            if query.isFullPostcode, let postcode = query.postcode {
                try gathered.add(Self.rows(livingAt: postcode, db), db)
                return (query.rank(gathered.scored), gathered.truncated)
            }
            if let family = query.family, query.given != nil || query.narrowBirthDates == nil {
                for born in query.birthDateRounds where !gathered.isConfident {
                    // A name of several parts is first looked for whole (Day-Price under the code
                    // of dayprice): its halves alone may be filed under thousands of children.
                    if family.parts.count > 1, let whole = family.parts.last {
                        try gathered.add(
                            Self.rows(
                                filedUnder: [NameMatching.soundCode(whole)], query.given?.codes, born: born, query, db),
                            db)
                    }
                    if !gathered.isConfident {
                        try gathered.add(
                            Self.rows(filedUnder: family.codes, query.given?.codes, born: born, query, db), db)
                    }
                    if !gathered.isConfident, let given = query.given {
                        try gathered.add(Self.rows(filedUnder: given.codes, family.codes, born: born, query, db), db)
                    }
                }
            }
            if !gathered.isConfident,
                let dates = query.narrowBirthDates ?? (query.family == nil ? query.birthDates : nil)
            {
                try gathered.add(Self.rows(bornOn: dates, screenedBy: query, limit: birthScanLimit, db), db)
            }
            if !gathered.isConfident, let family = query.family, let given = query.given {
                try gathered.add(
                    Self.rows(filedUnder: family.codesOneEditAway, given.codes, born: query.birthDates, query, db), db)
                try gathered.add(
                    Self.rows(filedUnder: family.codes, given.codesOneEditAway, born: query.birthDates, query, db), db)
            }
            return (query.rank(gathered.scored), gathered.truncated)
        }
    }

    /// The children found so far, each read and scored once.
    private struct Gathered {
        let query: SearchQuery
        var seen: Set<Int64> = []
        var scored: [(candidate: Candidate, score: Double)] = []
        var truncated = false
        var isConfident: Bool { scored.contains { $0.score >= SearchQuery.confidentScore } }

        mutating func add(_ found: (rows: [Int64], more: Bool), _ db: Database) throws {
            truncated = truncated || found.more
            let new = found.rows.filter { seen.insert($0).inserted }
            for candidate in try IndexStore.candidates(new, db) {
                if let score = query.score(candidate) { scored.append((candidate, score)) }
            }
        }
    }

    /// Children filed under these family and given sound codes (any given name when nil), born
    /// on these dates: at most ``screenLimit`` of them screened, and the ``candidateLimit`` whose
    /// current names fit `query` best.
    private static func rows(
        filedUnder familyCodes: Set<String>, _ givenCodes: Set<String>?, born: SearchQuery.BirthDates?,
        _ query: SearchQuery, _ db: Database
    ) throws -> (rows: [Int64], more: Bool) {
        var sql = "SELECT child_row FROM search_key WHERE family_code IN \(placeholders(familyCodes.count))"
        var arguments = StatementArguments(Array(familyCodes))
        if let givenCodes {
            sql += " AND given_code IN \(placeholders(givenCodes.count))"
            arguments += StatementArguments(Array(givenCodes))
        }
        switch born {
        case .days(let days):
            sql += " AND date_of_birth IN \(placeholders(days.count))"
            arguments += StatementArguments(days)
        case .range(let from, let to):
            sql += " AND date_of_birth BETWEEN ? AND ?"
            arguments += [from, to]
        case nil: break
        }
        // Lists of many lengths (codes one edit away): not worth a place in the statement cache.
        let statement =
            familyCodes.count + (givenCodes?.count ?? 0) > 16
            ? try db.makeStatement(sql: sql + " LIMIT ?") : try db.cachedStatement(sql: sql + " LIMIT ?")
        let found = try Int64.fetchAll(statement, arguments: arguments + [screenLimit + 1])
        let unique = Array(Set(found.prefix(screenLimit)))
        guard unique.count > candidateLimit else { return (unique, found.count > screenLimit) }
        var named: [(row: Int64, family: String, given: String)] = []
        for chunk in stride(from: 0, to: unique.count, by: 512).map({ Array(unique[$0..<min($0 + 512, unique.count)]) })
        {
            named += try decodeRows(
                db.makeStatement(
                    sql: "SELECT row, family_name, given_name FROM child WHERE row IN \(placeholders(chunk.count))"),
                StatementArguments(chunk)
            ) { row in (row: row[0] as Int64, family: row[1] as String, given: row[2] as String) }
        }
        let (best, more) = bestByName(named, query, keepingUnfit: true)
        return (best, more || found.count > screenLimit)
    }

    /// The ``candidateLimit`` children whose current names fit best, and whether more fit. With
    /// `keepingUnfit`, children whose current names do not fit come last rather than not at all
    /// (they were filed under a former name).
    private static func bestByName(
        _ named: [(row: Int64, family: String, given: String)], _ query: SearchQuery, keepingUnfit: Bool
    ) -> (rows: [Int64], more: Bool) {
        var fits: [(row: Int64, fit: Double)] = []
        fits.reserveCapacity(named.count)
        for child in named {
            if let fit = query.nameFit(family: child.family, given: child.given) {
                fits.append((child.row, fit))
            } else if keepingUnfit {
                fits.append((child.row, 0))
            }
        }
        let fitting = fits.filter { $0.fit > 0 }.count
        fits.sort { $0.fit > $1.fit }
        return (fits.prefix(candidateLimit).map(\.row), fitting > candidateLimit)
    }

    /// The children whose current address has this full postcode.
    private static func rows(livingAt postcode: String, _ db: Database) throws -> (rows: [Int64], more: Bool) {
        let found = try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT child_row FROM child_address WHERE postcode = ? AND position = 0 LIMIT ?"),
            arguments: [postcode, candidateLimit + 1])
        return (Array(found.prefix(candidateLimit)), found.count > candidateLimit)
    }

    /// The children born on these dates whose current names may fit, read from the date-of-birth
    /// index alone (it holds the names): at most `limit` children born then are read.
    private static func rows(
        bornOn dates: SearchQuery.BirthDates, screenedBy query: SearchQuery, limit: Int, _ db: Database
    ) throws -> (rows: [Int64], more: Bool) {
        var sql = "SELECT row, family_name, given_name FROM child WHERE "
        var arguments: StatementArguments
        switch dates {
        case .days(let days):
            sql += "date_of_birth IN \(placeholders(days.count))"
            arguments = StatementArguments(days)
        case .range(let from, let to):
            sql += "date_of_birth BETWEEN ? AND ?"
            arguments = [from, to]
        }
        if let authority = query.localAuthority {
            sql += " AND local_authority = ?"
            arguments += [authority]
        }
        let found = try decodeRows(db.cachedStatement(sql: sql + " LIMIT ?"), arguments + [limit]) { row in
            (row: row[0] as Int64, family: row[1] as String, given: row[2] as String)
        }
        // Children born then beyond the limit were not read, so may fit too.
        guard query.given != nil || query.family != nil else {
            return (found.prefix(candidateLimit).map(\.row), found.count >= limit || found.count > candidateLimit)
        }
        let (best, more) = bestByName(found, query, keepingUnfit: false)
        return (best, more || found.count >= limit)
    }

    /// The candidates with these child rows.
    fileprivate static func candidates(_ rows: [Int64], _ db: Database) throws -> [Candidate] {
        var candidates: [Int64: Candidate] = [:]
        for var chunk in stride(from: 0, to: rows.count, by: 512).map({ Array(rows[$0..<min($0 + 512, rows.count)]) }) {
            // Padded to a power of two (repeating the last row), so that few statements are prepared and cached.
            while chunk.count & (chunk.count - 1) != 0 { chunk.append(chunk[chunk.count - 1]) }
            let list = placeholders(chunk.count)
            for candidate in try decodeRows(
                db.cachedStatement(
                    sql: """
                        SELECT c.row, c.id, c.given_name, c.family_name, c.date_of_birth, c.gender, \
                        c.local_authority, c.is_shielded, a.postcode
                        FROM child c LEFT JOIN child_address a ON a.child_row = c.row AND a.position = 0
                        WHERE c.row IN \(list)
                        """), StatementArguments(chunk),
                { row in
                    Candidate(
                        id: row[1], row: row[0],
                        names: [
                            .with {
                                $0.given = row[2]
                                $0.family = row[3]
                            }
                        ],
                        dateOfBirth: row[4], gender: Contactpoint_V1_Gender(code: row[5]) ?? .notKnown,
                        localAuthority: row[6], shielded: row[7], postcode: row[8])
                })
            {
                candidates[candidate.row] = candidate
            }
            for (childRow, name) in try decodeRows(
                db.cachedStatement(
                    sql:
                        """
                        SELECT child_row, given_name, family_name FROM child_other_name WHERE child_row IN \
                        \(list) ORDER BY child_row, position
                        """
                ),
                StatementArguments(chunk),
                { row in
                    (
                        row[0] as Int64,
                        Contactpoint_V1_PersonName.with {
                            $0.given = row[1]
                            $0.family = row[2]
                        }
                    )
                })
            {
                candidates[childRow]?.names.append(name)
            }
        }
        return Array(candidates.values)
    }

    static func placeholders(_ count: Int) -> String {
        "(" + Array(repeating: "?", count: count).joined(separator: ",") + ")"
    }
}
