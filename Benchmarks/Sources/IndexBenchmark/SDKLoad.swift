import ContactPointAPI
import Foundation
import ZeroMQ

/// The lookups of the raw MDP phase, made through libcontactpoint (the C SDK) by its benchmark
/// program (Clients/libcontactpoint/tests/sdk_bench.c): one client with 32 calls in flight, in a
/// process of its own, after 2,000 sequential searches for latency. Built here with its Makefile.
struct SDKLoad {
    let program: String
    let arguments: [String]

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Builds the program and writes what it needs into `directory`/sdk: the keys and the calls.
    static func prepare(
        directory: String, raw: RawMDPClients,
        lookups: [(Contactpoint_V1_SearchChildrenRequest, Contactpoint_V1_ViewRecordRequest)],
        seconds: Int
    ) throws -> SDKLoad {
        let build = "\(repositoryRoot)/.build/libcontactpoint/release"
        try run(
            "/usr/bin/make",
            ["-s", "-C", "\(repositoryRoot)/Clients/libcontactpoint", "BUILD=\(build)", "bench-program"])
        // This run's keys: the benchmark's bus is new every run.
        let folder = "\(directory)/sdk"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try KeyFile.write(raw.keyPair, name: "bench-client", into: folder)
        try "public-key = \(raw.broker.publicKey.z85)\n".write(
            toFile: "\(folder)/broker.pub", atomically: true, encoding: .utf8)
        var calls = Data()
        for (search, view) in lookups {
            for (kind, bytes) in [(UInt8(0), try search.serializedBytes() as [UInt8]), (1, try view.serializedBytes())]
            {
                calls.append(kind)
                withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { calls.append(contentsOf: $0) }
                calls.append(contentsOf: bytes)
            }
        }
        try calls.write(to: URL(fileURLWithPath: "\(folder)/calls"))
        let token = String(raw.authorization.dropFirst("Bearer ".count))
        return SDKLoad(
            program: "\(build)/sdk-bench",
            arguments: [
                raw.broker.endpoint, "\(folder)/broker.pub", "\(folder)/bench-client.key", token, "\(folder)/calls",
                "\(seconds)", "32",
            ])
    }

    /// Runs the program; its one line of `name=value` figures.
    func run() async throws -> [String: String] {
        let line = try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try Self.run(program, arguments) }) }.start()
        }
        var figures: [String: String] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { figures[String(parts[0])] = String(parts[1]) }
        }
        return figures
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(executable) failed"])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
