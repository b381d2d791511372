import Foundation
import Testing
import ZeroMQ

/// The `contactpoint` command as an operator uses it.
@Suite("contactpoint command line", .timeLimit(.minutes(1)))
struct CommandLineTests {
    @Test("keys generate writes a private key file and a public one; show prints the public key")
    func keys() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let generate = try RunningProcess("contactpoint", ["keys", "generate", "index-1", "--directory", directory], name: "generate")
        try await generate.waitForOutput(containing: "index-1 ")
        let pair = try KeyFile.readKeyPair(at: "\(directory)/index-1.key")
        #expect(generate.text.contains(pair.publicKey.z85))
        #expect(!generate.text.contains(pair.secretKey.z85), "the secret key is never printed")

        let show = try RunningProcess("contactpoint", ["keys", "show", "\(directory)/index-1.pub"], name: "show")
        try await show.waitForOutput(containing: pair.publicKey.z85)

        let again = try RunningProcess("contactpoint", ["keys", "generate", "index-1", "--directory", directory], name: "again")
        try await again.waitForOutput(containing: "Error")
        #expect(try KeyFile.readKeyPair(at: "\(directory)/index-1.key").secretKey == pair.secretKey, "an existing key is never overwritten")
    }

    @Test("echo calls through the bus and reports who answered")
    func echo() async throws {
        let cluster = try await BusCluster.start(workers: ["echo-1"])
        var arguments = ["echo", "--key-file", "\(cluster.directory)/client.key", "--count", "3", "--text", "hello"]
        for (index, endpoints) in cluster.brokerEndpoints.enumerated() {
            arguments += ["--broker", "\(endpoints.requests),\(cluster.directory)/broker-\(index + 1).pub"]
        }
        let echo = try RunningProcess("contactpoint", arguments, name: "echo")
        try await echo.waitForOutput(containing: "echo-1: hello")
        #expect(await echo.exited() == 0, "a failed call makes the command exit non-zero: \(echo.text)")
    }
}
