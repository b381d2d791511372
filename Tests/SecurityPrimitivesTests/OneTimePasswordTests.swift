import Foundation
import SecurityPrimitives
import Testing

/// The published vectors in ../shared/testdata, read as they are.
enum TestVectors {
    static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["CONTACTPOINT_TESTDATA"] { return override }
        // Tests/SecurityPrimitivesTests/ → the repository → ../shared/testdata
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/testdata").path
    }()

    /// The rows of a tab-separated file: comments and the header row skipped.
    static func rows(_ file: String) throws -> [[String]] {
        let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        return lines.dropFirst().map { $0.split(separator: "\t").map(String.init) }
    }
}

@Suite("HOTP and TOTP")
struct OneTimePasswordTests {
    @Test("RFC 4226 Appendix D: every HOTP vector")
    func hotpVectors() throws {
        let rows = try TestVectors.rows("rfc4226-hotp.tsv")
        #expect(rows.count == 10)
        let otp = OneTimePassword(secret: Array("12345678901234567890".utf8))
        for row in rows {
            #expect(otp.code(counter: UInt64(row[0])!) == row[1], "counter \(row[0])")
        }
    }

    @Test("RFC 6238 Appendix B: every TOTP vector, SHA-1, SHA-256 and SHA-512, 8 digits")
    func totpVectors() throws {
        let rows = try TestVectors.rows("rfc6238-totp.tsv")
        #expect(rows.count == 18)
        let seeds: [String: (HMAC.Hash, String)] = [
            "SHA1": (.sha1, "12345678901234567890"),
            "SHA256": (.sha256, "12345678901234567890123456789012"),
            "SHA512": (.sha512, String(repeating: "1234567890", count: 7).prefix(64).description),
        ]
        for row in rows {
            let (hash, seed) = try #require(seeds[row[3]])
            var otp = OneTimePassword(secret: Array(seed.utf8))
            otp.hash = hash
            otp.digits = 8
            #expect(otp.timeStep(at: Int64(row[0])!) == UInt64(row[1], radix: 16), "T at \(row[0])")
            #expect(otp.code(at: Int64(row[0])!) == row[2], "\(row[3]) at \(row[0])")
        }
    }

    @Test("a code matches its own time step and the previous one only")
    func window() {
        let otp = OneTimePassword(secret: SecureRandom.bytes(20))
        let now: Int64 = 1_800_000_015
        let current = otp.timeStep(at: now)
        #expect(otp.matchingStep(of: otp.code(counter: current), at: now) == current)
        #expect(otp.matchingStep(of: otp.code(counter: current - 1), at: now) == current - 1)
        #expect(otp.matchingStep(of: otp.code(counter: current - 1), at: now, allowPrevious: false) == nil)
        #expect(otp.matchingStep(of: otp.code(counter: current - 2), at: now) == nil)
        #expect(otp.matchingStep(of: otp.code(counter: current + 1), at: now) == nil, "no code from the future")
    }

    @Test("base32 round-trips secrets and reads RFC 4648's vector")
    func base32() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.decode("MZXW6YTBOI======") == Array("foobar".utf8))
        let secret = SecureRandom.bytes(20)
        #expect(Base32.decode(Base32.encode(secret)) == secret)
        #expect(Base32.decode("not base32!") == nil)
    }
}
