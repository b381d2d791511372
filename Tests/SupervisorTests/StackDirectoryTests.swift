import Broker
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

/// The operator's own allow-list lines under `contactpoint up`.
@Suite struct LocalAllowListTests {
    let directory = StackDirectory(
        root: FileManager.default.temporaryDirectory.appendingPathComponent("stack-dir-\(UUID())").path)

    func prepared() throws -> [StackService] {
        let services = Array(StackService.all.prefix(2))
        _ = try directory.prepare(brokers: ["broker-1"], services: services)
        return services
    }

    @Test("lines in allow-list.local are added to the allow-list at every start")
    func added() throws {
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        let services = try prepared()
        let gateway = try CurveKeyPair.generate()
        try "# our case-management bridge\nhillside-gateway \(gateway.publicKey.z85)\n".write(
            toFile: directory.localAllowListFile, atomically: true, encoding: .utf8)
        try directory.writeAllowList(services: services)
        let list = try AllowList(contentsOf: directory.allowListFile)
        #expect(list.entry(for: gateway.publicKey)?.principal == "hillside-gateway")
        #expect(list.principals.isSuperset(of: Set(services.map(\.name) + [StackDirectory.operatorPrincipal])))
    }

    @Test("a bad line, a stack principal's name or a stack key in allow-list.local stops the start, naming it")
    func refused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        let services = try prepared()
        let indexKey = try KeyFile.readPublicKey(at: directory.publicKeyFile(principal: services[0].name))
        let cases = [
            ("gateway not-a-key\n", "line 1"),
            ("\(services[1].name) \(try CurveKeyPair.generate().publicKey.z85)\n", "principal of the stack's own"),
            ("impostor \(indexKey.z85)\n", "appears twice"),
        ]
        for (text, reason) in cases {
            try text.write(toFile: directory.localAllowListFile, atomically: true, encoding: .utf8)
            let error = #expect(throws: LocalAllowListError.self) { try directory.writeAllowList(services: services) }
            #expect(error?.description.contains("allow-list.local") == true)
            #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
        }
    }
}
