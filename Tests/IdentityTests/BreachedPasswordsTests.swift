import Foundation
import SecurityPrimitives
import TestSupport
import Testing

@testable import Identity

@Suite("The breached-password corpus")
struct BreachedPasswordsTests {
    private let temporaryDirectory: TemporaryDirectory
    var directory: String { temporaryDirectory.path }

    init() throws {
        temporaryDirectory = try TemporaryDirectory(prefix: "breached")
    }

    @Test("SHA-1 gives the FIPS 180 example digests (the corpus is keyed by it)")
    func sha1Vectors() {
        #expect(SHA1.hash(Array("abc".utf8)).hexString == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexString
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hash([]).hexString == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test("every password in the corpus is found, exactly as typed; others are not", arguments: [0, 1, 2, 5_000])
    func lookup(padding: Int) throws {
        let breached = ["correct horse battery staple", "Pa55word-from-a-breach!", "ünïcödé passwörd 2019", "x"]
        let path = "\(directory)/corpus-\(padding).txt"
        try BreachCorpus.write(passwords: breached, padding: padding, to: path)
        let corpus = try BreachedPasswords(path: path)
        for password in breached { #expect(corpus.contains(password), "\(password)") }
        for password in [
            "Correct horse battery staple", "correct horse battery staple ", "", "y", "a long enough passphrase",
        ] {
            #expect(!corpus.contains(password), "\(password)")
        }
        for index in 0..<500 { #expect(!corpus.contains("not breached \(index)")) }
    }

    @Test("lower-case hashes, LF line ends and lines without counts are read too")
    func otherLayouts() throws {
        let path = "\(directory)/plain.txt"
        let lines = ["one breached passphrase", "two breached passphrases"].map { SHA1.hash(Array($0.utf8)).hexString }
            .sorted()
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let corpus = try BreachedPasswords(path: path)
        #expect(corpus.contains("one breached passphrase") && corpus.contains("two breached passphrases"))
        #expect(!corpus.contains("three breached passphrases"))
    }

    @Test("a missing, empty, malformed or unsorted file is refused with what is wrong")
    func refused() throws {
        func problem(_ contents: String?) -> String? {
            let path = "\(directory)/bad-\(UUID()).txt"
            if let contents { try? contents.write(toFile: path, atomically: true, encoding: .utf8) }
            do {
                _ = try BreachedPasswords(path: path)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(nil)?.contains("cannot read") == true)
        #expect(problem("")?.contains("is empty") == true)
        #expect(problem("password123\r\n")?.contains("is not a SHA-1 in hex") == true)
        #expect(problem(String(repeating: "A", count: 41) + "\r\n")?.contains("is not a SHA-1 in hex") == true)
        let high = String(repeating: "F", count: 40)
        let low = String(repeating: "0", count: 40)
        #expect(problem("\(high):1\r\n\(low):2\r\n")?.contains("not sorted") == true)
        #expect(problem("\(low):1\r\n\(high):2\r\n") == nil)
    }

    @Test("the password policy refuses a password of the corpus that nothing else refuses")
    func policy() throws {
        let path = "\(directory)/policy.txt"
        try BreachCorpus.write(passwords: ["marmalade sandwiches at noon"], padding: 100, to: path)
        var policy = PasswordPolicy()
        #expect(policy.problem(with: "marmalade sandwiches at noon", email: "sam@school.example") == nil)
        policy.breached = try BreachedPasswords(path: path)
        #expect(
            policy.problem(with: "marmalade sandwiches at noon", email: "sam@school.example")
                == "that password has appeared in a data breach: choose another")
        #expect(policy.problem(with: "marmalade sandwiches at one", email: "sam@school.example") == nil)
    }
}
