import Foundation

/// How names are compared: folded to plain lower-case letters, indexed by a sound code that
/// survives most misspellings, and scored with Jaro–Winkler similarity, nicknames counting as
/// near matches.
enum NameMatching {
    /// "Zoë O'Brien-Smith" → "zoe obriensmith": diacritics folded, lower case, letters and spaces only.
    static func fold(_ name: String) -> String {
        if name.utf8.allSatisfy({ $0 < 0x80 }) { return foldASCII(name) }
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
        var result = ""
        result.reserveCapacity(folded.utf8.count)
        var lastWasSpace = true
        for scalar in folded.unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic {
                result.unicodeScalars.append(scalar)
                lastWasSpace = false
            } else if scalar == " " || scalar == "-", !lastWasSpace {
                result.append(" ")
                lastWasSpace = true
            }
        }
        if result.hasSuffix(" ") { result.removeLast() }
        return result
    }

    /// ``fold(_:)`` for plain ASCII, without Foundation (most names; bulk loads and searches fold millions).
    private static func foldASCII(_ name: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        var lastWasSpace = true
        for byte in name.utf8 {
            let lower = byte | 0x20
            if lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z") {
                bytes.append(lower)
                lastWasSpace = false
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-"), !lastWasSpace {
                bytes.append(UInt8(ascii: " "))
                lastWasSpace = true
            }
        }
        if bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The parts of a folded name and, for a name of several parts, the parts joined
    /// ("smith jones" → smith, jones, smithjones): hyphenated and double-barrelled names match
    /// on either half or the whole.
    static func parts(_ folded: String) -> [String] {
        let parts = folded.split(separator: " ").map(String.init)
        return parts.count > 1 ? parts + [parts.joined()] : parts
    }

    /// A sound code of a folded name part: consonants by class (b f p v · c g j k q s x z · d t ·
    /// l · m n · r), vowels and h w y dropped, repeats collapsed, at most four. "Catherine",
    /// "Kathryn" and "Katharine" share 2365; "Stephen" and "Steven" share 2315. A missing vowel or
    /// doubled letter, and most transposed vowels, keep the code.
    static func soundCode(_ part: String) -> String {
        var code: [UInt8] = []
        for byte in part.utf8 {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "p"), UInt8(ascii: "v"): digit = 1
            case UInt8(ascii: "c"), UInt8(ascii: "g"), UInt8(ascii: "j"), UInt8(ascii: "k"), UInt8(ascii: "q"),
                UInt8(ascii: "s"),
                UInt8(ascii: "x"), UInt8(ascii: "z"):
                digit = 2
            case UInt8(ascii: "d"), UInt8(ascii: "t"): digit = 3
            case UInt8(ascii: "l"): digit = 4
            case UInt8(ascii: "m"), UInt8(ascii: "n"): digit = 5
            case UInt8(ascii: "r"): digit = 6
            default: continue
            }
            if code.last != digit + UInt8(ascii: "0") { code.append(digit + UInt8(ascii: "0")) }
            if code.count == 4 { break }
        }
        return code.isEmpty ? "0" : String(decoding: code, as: UTF8.self)
    }

    /// Jaro–Winkler similarity of two folded strings: 1 for equal, near 1 for a typo or
    /// transposition, falling towards 0 for unrelated names.
    static func similarity(_ a: String, _ b: String) -> Double {
        if a == b { return 1 }
        let s = Array(a.utf8)
        let t = Array(b.utf8)
        guard !s.isEmpty, !t.isEmpty else { return 0 }
        let window = max(0, max(s.count, t.count) / 2 - 1)
        var sMatched = [Bool](repeating: false, count: s.count)
        var tMatched = [Bool](repeating: false, count: t.count)
        var matches = 0
        for i in 0..<s.count {
            let low = max(0, i - window)
            let high = min(t.count - 1, i + window)
            guard low <= high else { continue }
            for j in low...high where !tMatched[j] && s[i] == t[j] {
                sMatched[i] = true
                tMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var j = 0
        for i in 0..<s.count where sMatched[i] {
            while !tMatched[j] { j += 1 }
            if s[i] != t[j] { transpositions += 1 }
            j += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(s.count) + m / Double(t.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, s.count, t.count), s[prefix] == t[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    /// Whether two folded strings are one edit apart: a letter inserted, dropped, replaced, or two
    /// neighbouring letters swapped (Damerau). Equal strings are not.
    static func isOneEditApart(_ a: String, _ b: String) -> Bool {
        let s = Array(a.utf8)
        let t = Array(b.utf8)
        guard abs(s.count - t.count) <= 1, s != t else { return false }
        var prefix = 0
        while prefix < min(s.count, t.count), s[prefix] == t[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < min(s.count, t.count) - prefix, s[s.count - 1 - suffix] == t[t.count - 1 - suffix] {
            suffix += 1
        }
        let left = s.count - prefix - suffix
        let right = t.count - prefix - suffix
        if left + right <= 2, max(left, right) == 1 { return true }
        // Two neighbouring letters swapped: "ab" against "ba".
        return left == 2 && right == 2 && s[prefix] == t[prefix + 1] && s[prefix + 1] == t[prefix]
    }

    /// The sound codes of every string one edit away from a folded name part (its own code
    /// included): where a misspelt name is filed when the misspelling changed a consonant.
    static func soundCodesOneEditAway(_ part: String) -> Set<String> {
        let letters = Array(part.utf8)
        let alphabet = Array(UInt8(ascii: "a")...UInt8(ascii: "z"))
        var codes: Set<String> = [soundCode(part)]
        func add(_ bytes: [UInt8]) { codes.insert(soundCode(String(decoding: bytes, as: UTF8.self))) }
        for i in letters.indices {
            var dropped = letters
            dropped.remove(at: i)
            add(dropped)
            for letter in alphabet where letter != letters[i] {
                var replaced = letters
                replaced[i] = letter
                add(replaced)
            }
            if i + 1 < letters.count {
                var swapped = letters
                swapped.swapAt(i, i + 1)
                add(swapped)
            }
        }
        for i in 0...letters.count {
            for letter in alphabet {
                var inserted = letters
                inserted.insert(letter, at: i)
                add(inserted)
            }
        }
        return codes
    }

    /// The best similarity between any part of one name and any part of another.
    static func bestSimilarity(_ query: [String], _ candidate: [String]) -> Double {
        var best = 0.0
        for q in query {
            for c in candidate { best = max(best, similarity(q, c)) }
        }
        return best
    }
}

/// Given names and their nicknames (Bill, Will and Liam for William; Kate and Katie for
/// Catherine), both ways and through a shared full name.
public struct Nicknames: Sendable {
    private let related: [String: Set<String>]

    /// The table in the index's resources (../shared/data/names/nicknames.csv, see NOTICE).
    public static let standard: Nicknames = {
        guard let url = Bundle.module.url(forResource: "nicknames", withExtension: "csv"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("the index's resources lack nicknames.csv") }
        return Nicknames(csv: text)
    }()

    /// Reads `name1,has_nickname,name2` lines (a header line is skipped).
    init(csv: String) {
        var nicknames: [String: Set<String>] = [:]
        for line in csv.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",")
            guard fields.count == 3, fields[1] == "has_nickname" else { continue }
            let full = NameMatching.fold(String(fields[0]))
            let nick = NameMatching.fold(String(fields[2]))
            nicknames[full, default: []].insert(nick)
        }
        var related: [String: Set<String>] = [:]
        for (full, nicks) in nicknames {
            related[full, default: []].formUnion(nicks)
            for nick in nicks {
                related[nick, default: []].insert(full)
                related[nick, default: []].formUnion(nicks.subtracting([nick]))
            }
        }
        self.related = related
    }

    /// The names a folded given name is known by, itself not included.
    public func variants(of name: String) -> Set<String> { related[name] ?? [] }

}
