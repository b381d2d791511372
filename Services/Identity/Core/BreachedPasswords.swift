import Foundation
import SecurityPrimitives

/// A corpus of breached passwords (ASVS 5.0 6.2.12) in the form Have I Been Pwned's "Pwned
/// Passwords" are published for offline use: one line per password, the SHA-1 of its UTF-8 bytes
/// in 40 hexadecimal digits, optionally `:COUNT`, lines sorted by hash (`\n` or `\r\n`). The file
/// is memory-mapped and binary-searched, so a check reads ~log₂(lines) pages — about 30 for the
/// whole corpus of a billion passwords — and the service's memory does not grow with it.
struct BreachedPasswords: Sendable {
    private let bytes: Data
    let path: String

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Opens the corpus at `path` and checks its shape: readable, not empty, first and last lines
    /// well formed, and a sample of lines across it in ascending order.
    init(path: String) throws(Problem) {
        self.path = path
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw Problem(description: "cannot read \(path): \(error.localizedDescription)")
        }
        guard !bytes.isEmpty else { throw Problem(description: "\(path) is empty") }
        var previous: [UInt8] = []
        let samples = 64
        for sample in 0...samples {
            let start = lineStart(atOrAfter: bytes.count / samples * sample)
            let line = start < bytes.count ? start : lastLineStart()
            guard let key = key(at: line) else {
                throw Problem(
                    description:
                        """
                        \(path): the line at byte \(line) is not a SHA-1 in hex (40 digits, then `:COUNT` or the \
                        line's end)
                        """
                )
            }
            guard !key.lexicographicallyPrecedes(previous) else {
                throw Problem(description: "\(path): lines are not sorted by hash (at byte \(line))")
            }
            previous = key
        }
    }

    /// Whether `password`, exactly as given, is in the corpus.
    func contains(_ password: String) -> Bool {
        let target = Array(SHA1.hash(Array(password.utf8)).hexString.uppercased().utf8)
        // Invariant: the target's line, if any, starts in [low, high); `low` is always a line start.
        var low = 0
        var high = bytes.count
        while low < high {
            let middle = low + (high - low) / 2
            let start = lineStart(atOrAfter: middle)
            guard start < high else {
                high = middle
                continue
            }
            guard let key = key(at: start) else { return false }
            if key == target { return true }
            if key.lexicographicallyPrecedes(target) {
                low = lineStart(atOrAfter: start + 1)
            } else {
                high = start
            }
        }
        return false
    }

    /// The first line start at or after `offset` (`bytes.count` if none).
    private func lineStart(atOrAfter offset: Int) -> Int {
        guard offset > 0 else { return 0 }
        guard let newline = bytes[(offset - 1)...].firstIndex(of: UInt8(ascii: "\n")) else { return bytes.count }
        return newline + 1
    }

    private func lastLineStart() -> Int {
        var end = bytes.count
        while end > 0, [UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[end - 1]) { end -= 1 }
        guard let newline = bytes[..<end].lastIndex(of: UInt8(ascii: "\n")) else { return 0 }
        return newline + 1
    }

    /// The line's hash in upper-case hex, or `nil` if the line does not start with one.
    private func key(at start: Int) -> [UInt8]? {
        guard start + 40 <= bytes.count else { return nil }
        var key = [UInt8](repeating: 0, count: 40)
        for index in 0..<40 {
            var byte = bytes[start + index]
            if (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) { byte -= 32 }
            guard
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
            else { return nil }
            key[index] = byte
        }
        let end = start + 40
        guard end == bytes.count || [UInt8(ascii: ":"), UInt8(ascii: "\r"), UInt8(ascii: "\n")].contains(bytes[end])
        else { return nil }
        return key
    }
}
