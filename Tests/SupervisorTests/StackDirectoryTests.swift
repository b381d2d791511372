import Foundation
import Supervisor
import Testing
import ZeroMQ

/// The data directory `up` prepares, also after a first start that a power cut stopped halfway.
@Suite struct StackDirectoryTests {
    let directory = StackDirectory(
        root: FileManager.default.temporaryDirectory.appendingPathComponent("stack-dir-\(UUID())").path)

    @Test("a secret key whose public key was lost gets it back, derived from the secret")
    func publicKeyDerivedAgain() throws {
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        try directory.prepare(brokers: ["broker-1"], services: [])
        let pair = try KeyFile.readKeyPair(at: directory.keyFile(principal: "broker-1"))
        try FileManager.default.removeItem(atPath: directory.publicKeyFile(principal: "broker-1"))

        try directory.prepare(brokers: ["broker-1"], services: [])

        #expect(try KeyFile.readPublicKey(at: directory.publicKeyFile(principal: "broker-1")) == pair.publicKey)
        #expect(try KeyFile.readKeyPair(at: directory.keyFile(principal: "broker-1")).secretKey == pair.secretKey)
    }

    @Test("a public key whose secret was lost is replaced with a new pair that belongs together")
    func orphanPublicKeyReplaced() throws {
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        try directory.prepare(brokers: ["broker-1"], services: [])
        let old = try KeyFile.readPublicKey(at: directory.publicKeyFile(principal: "broker-1"))
        try FileManager.default.removeItem(atPath: directory.keyFile(principal: "broker-1"))

        try directory.prepare(brokers: ["broker-1"], services: [])

        let pair = try KeyFile.readKeyPair(at: directory.keyFile(principal: "broker-1"))
        #expect(pair.publicKey != old)
        #expect(try KeyFile.readPublicKey(at: directory.publicKeyFile(principal: "broker-1")) == pair.publicKey)
    }
}
