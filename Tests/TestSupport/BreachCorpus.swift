import Foundation
import SecurityPrimitives

/// A breached-password corpus file in the Pwned Passwords layout (SHA-1 in upper-case hex,
/// `:COUNT`, CRLF, sorted by hash): the given passwords among `padding` random hashes.
public enum BreachCorpus {
    public static func write(passwords: [String], padding: Int, to path: String) throws {
        var hashes = passwords.map { SHA1.hash(Array($0.utf8)) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<padding { hashes.append((0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }) }
        let lines = hashes.map { $0.hexString.uppercased() }.sorted().enumerated().map { "\($1):\($0 % 977 + 1)\r\n" }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: path))
    }
}
