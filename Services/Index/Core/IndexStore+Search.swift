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

    /// The most children one search reads before ranking; beyond this it asks for more detail.
    static let candidateLimit = 5000
    /// The most children born in the queried days that a search reads by date alone.
    static let birthScanLimit = 20_000

    /// The children a query may be about, ranked best first, and whether more may fit than were
    /// read (the caller must then narrow the search: it is never told "no child" of children
    /// that were not read). First those filed under the sound codes of its names (within its
    /// date-of-birth range); then, when no child matched well and the date of birth is narrow
    /// (a name misspelt beyond its sound code) or there is no family name to look under (a given
    /// name and a range of dates, or no name at all), the children born then, screened by name
    /// straight from the date-of-birth index, at most `birthScanLimit` of them.
    func search(
        _ query: SearchQuery, birthScanLimit: Int = birthScanLimit
    ) async throws -> (ranked: [(candidate: Candidate, score: Int)], truncated: Bool) {
        var (candidates, truncated) = try await candidatesByName(query)
        var ranked = query.rank(candidates)
        if query.isBirthNarrow || query.family == nil, (ranked.first?.score ?? 0) < SearchQuery.confidentScore {
            let (born, more) = try await candidatesByBirth(query, limit: birthScanLimit)
            let known = Set(candidates.map(\.row))
            candidates += born.filter { !known.contains($0.row) }
            truncated = truncated || more
            ranked = query.rank(candidates)
        }
        return (ranked, truncated)
    }

    private func candidatesByName(_ query: SearchQuery) async throws -> (candidates: [Candidate], truncated: Bool) {
        guard let family = query.family else { return ([], false) }
        return try await lookups.read { db in
            let familyCodes = Array(Set(NameMatching.parts(family).map(NameMatching.soundCode)))
            var sql = "SELECT child_row FROM search_key WHERE family_code IN \(Self.placeholders(familyCodes.count))"
            var arguments = StatementArguments(familyCodes)
            if query.given != nil {
                let givenCodes = Array(Set(query.givenVariants.map(NameMatching.soundCode)))
                sql += " AND given_code IN \(Self.placeholders(givenCodes.count))"
                arguments += StatementArguments(givenCodes)
            }
            if let (from, to) = query.birthRange {
                sql += " AND date_of_birth BETWEEN ? AND ?"
                arguments += [from, to]
            }
            let found = try Int64.fetchAll(
                db.cachedStatement(sql: sql + " LIMIT \(Self.candidateLimit + 1)"), arguments: arguments)
            return (
                try Self.candidates(Array(Set(found.prefix(Self.candidateLimit))), db),
                found.count > Self.candidateLimit
            )
        }
    }

    private func candidatesByBirth(_ query: SearchQuery, limit: Int) async throws -> (
        candidates: [Candidate], truncated: Bool
    ) {
        guard let (from, to) = query.birthRange else { return ([], false) }
        return try await lookups.read { db in
            // Read from the index alone (it holds the names), keeping only names that may match.
            var sql = "SELECT row, family_name, given_name FROM child WHERE date_of_birth BETWEEN ? AND ?"
            var arguments: StatementArguments = [from, to]
            if let authority = query.localAuthority {
                sql += " AND local_authority = ?"
                arguments += [authority]
            }
            let found = try Self.decodeRows(db.cachedStatement(sql: sql + " LIMIT ?"), arguments + [limit]) { row in
                (row: row[0] as Int64, family: row[1] as String, given: row[2] as String)
            }
            let named = query.given != nil || query.family != nil
            let plausible = found.lazy.filter { !named || query.mayMatch(family: $0.family, given: $0.given) }.map(
                \.row)
            // Children born in the range beyond the limit were not read, so may fit too.
            let unread = found.count >= limit
            return (
                try Self.candidates(Array(plausible.prefix(Self.candidateLimit)), db),
                unread || (!named && found.count > Self.candidateLimit)
            )
        }
    }

    /// The candidates with these child rows.
    private static func candidates(_ rows: [Int64], _ db: Database) throws -> [Candidate] {
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
