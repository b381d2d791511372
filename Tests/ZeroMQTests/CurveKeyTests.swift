import Foundation
import Testing
import ZeroMQ

@Suite("CURVE keys")
struct CurveKeyTests {
    @Test("Z85 decodes and encodes the RFC 32 test key")
    func z85Vector() throws {
        // The key pair from ZeroMQ RFC 26/32 examples: "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        let text = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        let key = try CurveKey(z85: text)
        #expect(key.bytes.count == 32)
        #expect(key.z85 == text)
    }

    @Test("the public key derived from a generated secret key is the generated public key")
    func derivation() throws {
        let pair = try CurveKeyPair.generate()
        #expect(try CurveKeyPair(secretKey: pair.secretKey).publicKey == pair.publicKey)
        #expect(!pair.description.contains(pair.secretKey.z85), "a key pair never prints its secret")
    }

    @Test(
        "malformed keys are rejected",
        arguments: ["", "short", String(repeating: "~", count: 40), String(repeating: "a", count: 41)])
    func malformed(text: String) {
        #expect(throws: CurveKeyError.self) { try CurveKey(z85: text) }
    }

    @Test("key files round-trip; the secret file is private and never overwritten")
    func keyFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try CurveKeyPair.generate()
        try KeyFile.write(pair, name: "index", into: directory)

        #expect(try KeyFile.readKeyPair(at: "\(directory)/index.key").secretKey == pair.secretKey)
        #expect(try KeyFile.readPublicKey(at: "\(directory)/index.pub") == pair.publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/index.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: CurveKeyError.self) { try KeyFile.write(pair, name: "index", into: directory) }
        #expect(throws: CurveKeyError.self) { try KeyFile.readKeyPair(at: "\(directory)/index.pub") }
    }
}
