import Foundation
import Testing

/// A client in another language, written from docs/PROTOCOL.md alone (Python with Debian's
/// python3-zmq and python3-protobuf), calls the real broker and worker.
@Suite("A client in another language", .timeLimit(.minutes(1)))
struct OtherLanguageClientTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("a Python MDP client built from the protocol document gets its echo")
    func pythonClient() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let generated = "\(cluster.directory)/python"
        try FileManager.default.createDirectory(atPath: generated, withIntermediateDirectories: true)
        let protoc = try RunningProcess(
            "/usr/bin/protoc",
            [
                "-I", Self.repositoryRoot.appendingPathComponent("Proto").path, "--python_out=\(generated)",
                "contactpoint/v1/bus.proto", "contactpoint/v1/echo.proto",
            ],
            name: "protoc")
        #expect(await protoc.exited() == 0, "protoc: \(protoc.text)")

        let client = try RunningProcess(
            "/usr/bin/python3",
            [
                Self.repositoryRoot.appendingPathComponent("examples/python/echo_client.py").path,
                generated, cluster.brokerEndpoints[0].requests, "\(cluster.directory)/broker-1.pub",
                "\(cluster.directory)/client.key", "from python",
            ],
            name: "python client")
        try await client.waitForOutput(containing: "echo-1 test-client from python")
        #expect(await client.exited() == 0, "python client: \(client.text)")
    }
}
