import Identifiers
import SecurityPrimitives
import Testing

/// Ids that do not tell how many rows there are.
@Suite("Opaque row ids")
struct OpaqueRowIDsTests {
    let ids = OpaqueRowIDs(prefix: "inv-", key: SecureRandom.bytes(32), plainUpTo: 0)

    @Test("every row's id maps back to the row")
    func roundTrip() {
        for row in Array(1...2_000) + [Int64(1) << 40, Int64.max - 1, Int64.max] {
            let id = ids.id(ofRow: row)
            #expect(id.hasPrefix("inv-") && id.count == 17, "\(id)")
            #expect(ids.row(ofID: id) == row, "\(id)")
        }
    }

    @Test("consecutive rows get unrelated ids: sorted, they are in no order of the rows")
    func consecutiveRowsUnrelated() {
        let made = (1...1_000).map { ids.id(ofRow: Int64($0)) }
        #expect(Set(made).count == 1_000)
        #expect(made.sorted() != made)
        // The first characters take many values, as random ids would
        #expect(Set(made.map { $0.dropFirst(4).prefix(2) }).count > 200)
    }

    @Test("the permutation is fixed: ids given out stay valid (a known answer under a known key)")
    func knownAnswer() {
        let fixed = OpaqueRowIDs(prefix: "inv-", key: Array(0..<32), plainUpTo: 0)
        #expect(fixed.id(ofRow: 1) == Self.knownIDOfRow1)
        #expect(fixed.row(ofID: Self.knownIDOfRow1) == 1)
        #expect(fixed.number(ofRow: 1) == 12_749_573_175_646_776_382)
        #expect(OpaqueRowIDs(prefix: "inv-", key: Array(1...32), plainUpTo: 0).id(ofRow: 1) != Self.knownIDOfRow1)
    }
    /// Computed independently from the construction (Python, hmac and hashlib) when it was written.
    static let knownIDOfRow1 = "inv-b1vwn8364cv1y"

    @Test("as numbers (a cursor): rows map to numbers with the top bit set and back; small numbers are no row")
    func numbers() {
        for row in Array(Int64(1)...500) + [Int64.max] {
            let number = ids.number(ofRow: row)
            #expect(number >= 1 << 63)
            #expect(ids.row(ofNumber: number) == row)
        }
        #expect(ids.row(ofNumber: 0) == nil && ids.row(ofNumber: 1) == nil && ids.row(ofNumber: 1 << 62) == nil)
    }

    @Test("rows given out as numbers before keep their numbers; larger numbers are no id")
    func plainRows() {
        let upgraded = OpaqueRowIDs(prefix: "inv-", key: SecureRandom.bytes(32), plainUpTo: 21_391)
        #expect(upgraded.id(ofRow: 21_391) == "21391")
        #expect(upgraded.row(ofID: "21391") == 21_391)
        #expect(upgraded.row(ofID: "21392") == nil)
        #expect(upgraded.id(ofRow: 21_392).hasPrefix("inv-"))
        #expect(upgraded.row(ofID: upgraded.id(ofRow: 21_392)) == 21_392)
        #expect(upgraded.number(ofRow: 21_391) == 21_391 && upgraded.row(ofNumber: 21_391) == 21_391)
        #expect(upgraded.row(ofNumber: 21_392) == nil)
        #expect(upgraded.row(ofNumber: upgraded.number(ofRow: 21_392)) == 21_392)
    }

    @Test("what is not an id of this kind names no row")
    func notAnID() {
        let id = ids.id(ofRow: 42)
        for text in [
            "", "0", "-1", "+5", "inv-", "alert-" + id.dropFirst(4), String(id.dropLast()), id + "0",
            "inv-zzzzzzzzzzzzz", "inv-0000000000000", "inv-7zzzzzzzzzzzz", "inv-0000000000i00",
            "inv-" + id.dropFirst(4).uppercased(), "99999999999999999999",
        ] {
            #expect(ids.row(ofID: text) == nil, "\(text)")
        }
    }
}
