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

        let generate = try RunningProcess(
            "contactpoint", ["keys", "generate", "index-1", "--directory", directory], name: "generate")
        try await generate.waitForOutput(containing: "index-1 ")
        let pair = try KeyFile.readKeyPair(at: "\(directory)/index-1.key")
        #expect(generate.text.contains(pair.publicKey.z85))
        #expect(!generate.text.contains(pair.secretKey.z85), "the secret key is never printed")

        let show = try RunningProcess("contactpoint", ["keys", "show", "\(directory)/index-1.pub"], name: "show")
        try await show.waitForOutput(containing: pair.publicKey.z85)

        let again = try RunningProcess(
            "contactpoint", ["keys", "generate", "index-1", "--directory", directory], name: "again")
        try await again.waitForOutput(containing: "Error")
        #expect(
            try KeyFile.readKeyPair(at: "\(directory)/index-1.key").secretKey == pair.secretKey,
            "an existing key is never overwritten")
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

    @Test(
        """
        a feed that is missing or broken is reported by path, record and byte offset; the records before a break \
        are loaded; a whole one loads
        """
    )
    func brokenFeeds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feeds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let load = { (feed: String) in
            try RunningProcess(
                "contactpoint",
                ["children", "load", feed, "--database", "\(directory)/index.sqlite", "--batch-size", "1"], name: "load"
            )
        }

        let missing = try load("\(directory)/missing.feed")
        #expect(await missing.exited() != 0)
        #expect(missing.text.contains("no such file: \(directory)/missing.feed"), "\(missing.text)")
        #expect(!missing.text.contains("NSError") && !missing.text.contains("CoreFoundation"), "\(missing.text)")

        // Given a feed of three children cut short inside the third
        let seed = try RunningProcess(
            "contactpoint", ["seed", "--children", "3", "--output", "\(directory)/whole.feed"], name: "seed")
        #expect(await seed.exited() == 0)
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/whole.feed"))
        try whole.dropLast(5).write(to: URL(fileURLWithPath: "\(directory)/cut.feed"))
        let third = Self.offset(ofRecord: 2, in: whole)

        let cut = try load("\(directory)/cut.feed")
        #expect(await cut.exited() != 0)
        #expect(
            cut.text.contains("record 3, at byte offset \(third): the file ends inside it (truncated)"), "\(cut.text)")
        #expect(cut.text.contains("the 2 children before it are loaded"), "\(cut.text)")
        // with progress from the first child: a line at each tenth of the file read (not a terminal here)
        let bars = cut.text.split(separator: "\n").filter { $0.hasPrefix("[") }
        #expect(bars.first?.contains("1 child") == true && bars.first?.contains("left") == true, "\(cut.text)")
        #expect(bars.count == 2, "\(cut.text)")

        // A whole feed of one child loads, and is counted in English
        try whole.prefix(Self.offset(ofRecord: 1, in: whole)).write(to: URL(fileURLWithPath: "\(directory)/one.feed"))
        let one = try RunningProcess(
            "contactpoint", ["children", "load", "\(directory)/one.feed", "--database", "\(directory)/one.sqlite"],
            name: "load")
        #expect(await one.exited() == 0, "\(one.text)")
        #expect(one.text.contains("loaded 1 child (1 new, 0 updated)"), "\(one.text)")
    }

    /// Where record `index` (from 0) starts in a feed of length-delimited messages.
    static func offset(ofRecord index: Int, in feed: Data) -> Int {
        var offset = 0
        for _ in 0..<index {
            var length = 0
            var shift = 0
            while true {
                let byte = feed[offset]
                offset += 1
                length |= Int(byte & 0x7f) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            offset += length
        }
        return offset
    }
}
