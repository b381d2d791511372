import SecurityPrimitives
import Testing

@Suite("Password hashing")
struct PasswordHasherTests {
    @Test("PBKDF2-HMAC-SHA-256 matches RFC 7914 §11")
    func pbkdf2Vector() {
        let derived = PasswordHasher.pbkdf2(Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(
            derived.hexString
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        )
    }

    @Test("SHA-256 of \"abc\" is FIPS 180-2's example")
    func sha256() {
        #expect(
            SHA256.hash(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    // Fewer iterations than production so the tests stay fast; the parameters are in the hash.
    let hasher = PasswordHasher(pepper: SecureRandom.bytes(32), iterations: 1_000)

    @Test("the right password verifies; a wrong one, another pepper, or a tampered hash do not")
    func verify() {
        let stored = hasher.hash("correct horse battery staple")
        #expect(hasher.verify("correct horse battery staple", against: stored))
        #expect(!hasher.verify("correct horse battery stapl", against: stored))
        #expect(
            !PasswordHasher(pepper: SecureRandom.bytes(32), iterations: 1_000).verify(
                "correct horse battery staple", against: stored))
        var tampered = Array(stored)
        tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
        #expect(!hasher.verify("correct horse battery staple", against: String(tampered)))
        #expect(!hasher.verify("anything", against: "garbage"))
    }

    @Test("no truncation: passwords that differ only after 72 bytes differ")
    func noTruncation() {
        let long = String(repeating: "a", count: 100)
        let stored = hasher.hash(long + "1")
        #expect(!hasher.verify(long + "2", against: stored))
    }

    @Test("the same password hashes differently each time (random salt)")
    func salted() {
        #expect(hasher.hash("same password here") != hasher.hash("same password here"))
    }

    @Test("a hash made with fewer iterations than now required needs rehashing")
    func rehash() {
        #expect(PasswordHasher(pepper: SecureRandom.bytes(32), iterations: 2_000).needsRehash(hasher.hash("x")))
        #expect(!hasher.needsRehash(hasher.hash("x")))
        #expect(PasswordHasher.defaultIterations >= 600_000, "ASVS 5.0 Appendix C")
    }
}
