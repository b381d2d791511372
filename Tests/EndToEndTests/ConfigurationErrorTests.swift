import Foundation
import TestSupport
import Testing
import ZeroMQ

/// What an operator sees when a setting is wrong: one line naming the key and the fix, exit
/// status 78 (EX_CONFIG), never a stack trace.
@Suite("Configuration errors of the executables", .timeLimit(.minutes(1)))
struct ConfigurationErrorTests {
    private let temporaryDirectory: TemporaryDirectory
    var directory: String { temporaryDirectory.path }
    let brokerPublicKeyFile: String
    let keyFile: String

    init() throws {
        temporaryDirectory = try TemporaryDirectory(prefix: "config-errors")
        try KeyFile.write(try CurveKeyPair.generate(), name: "broker", into: temporaryDirectory.path)
        try KeyFile.write(try CurveKeyPair.generate(), name: "echo", into: temporaryDirectory.path)
        brokerPublicKeyFile = "\(temporaryDirectory.path)/broker.pub"
        keyFile = "\(temporaryDirectory.path)/echo.key"
    }

    /// Runs `executable` to its exit; returns its output and exit status.
    func run(_ executable: String, _ arguments: [String]) async -> (output: String, status: Int32) {
        guard let process = try? RunningProcess(executable, arguments, name: executable) else {
            return ("could not start", -1)
        }
        let status = await process.exited()
        return (process.text, status)
    }

    func expectOneLineError(_ result: (output: String, status: Int32), naming key: String, _ more: String...) {
        #expect(result.status == 78, "\(result.output)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.output)")
        #expect(result.output.contains("configuration error in `\(key)`"), "\(result.output)")
        #expect(result.output.contains("fix: "), "\(result.output)")
        for text in more { #expect(result.output.contains(text), "\(result.output)") }
    }

    @Test("a malformed broker endpoint")
    func malformedEndpoint() async {
        expectOneLineError(
            await run(
                "contactpoint-echo", ["--broker", "localhost:5555,\(brokerPublicKeyFile)", "--key-file", keyFile]),
            naming: "broker", "--broker", "tcp://HOST:PORT")
    }

    @Test("a missing key file")
    func missingKeyFile() async {
        expectOneLineError(
            await run(
                "contactpoint-echo",
                ["--broker", "tcp://127.0.0.1:5555,\(brokerPublicKeyFile)", "--key-file", "\(directory)/nope.key"]),
            naming: "key-file", "nope.key", "contactpoint keys generate")
    }

    @Test("an unknown key in the configuration file")
    func unknownKey() async throws {
        let file = "\(directory)/echo.conf"
        try "broker = tcp://127.0.0.1:5555,\(brokerPublicKeyFile)\nkey-file = \(keyFile)\nsesions = 4\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        expectOneLineError(
            await run("contactpoint-echo", ["--config", file]), naming: "sesions", "\(file):3", "sessions")
    }

    @Test("a bad value in the environment names the variable")
    func badEnvironmentValue() async throws {
        let process = try RunningProcess(
            "contactpoint-echo", ["--broker", "tcp://127.0.0.1:5555,\(brokerPublicKeyFile)", "--key-file", keyFile],
            name: "echo",
            environment: ["CONTACTPOINT_GRACE_PERIOD": "soon"])
        let status = await process.exited()
        expectOneLineError((process.text, status), naming: "grace-period", "CONTACTPOINT_GRACE_PERIOD", "30s")
    }

    @Test(
        """
        a denied-attempts window beyond a day (the audit rules hold its events in memory) stops the audit service \
        before it serves
        """
    )
    func deniedWindowTooLong() async throws {
        let process = try RunningProcess(
            "contactpoint-audit",
            [
                "--broker", "tcp://127.0.0.1:5555,\(brokerPublicKeyFile)", "--key-file", keyFile, "--database",
                "\(directory)/audit.sqlite",
            ],
            name: "audit", environment: ["CONTACTPOINT_RULE_DENIED_WINDOW": "48h"])
        let status = await process.exited()
        expectOneLineError(
            (process.text, status), naming: "rule-denied-window", "CONTACTPOINT_RULE_DENIED_WINDOW", "1m to 24h")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/audit.sqlite"), "nothing is created")
    }

    @Test("an unsorted breached-password corpus stops the identity service before it serves")
    func unsortedBreachCorpus() async throws {
        let corpus = "\(directory)/breached.txt"
        try "\(String(repeating: "F", count: 40)):3\r\n\(String(repeating: "0", count: 40)):1\r\n".write(
            toFile: corpus, atomically: true, encoding: .utf8)
        let process = try RunningProcess(
            "contactpoint-identity",
            [
                "--broker", "tcp://127.0.0.1:5555,\(brokerPublicKeyFile)", "--key-file", keyFile, "--database",
                "\(directory)/identity.sqlite",
            ],
            name: "identity", environment: ["CONTACTPOINT_BREACHED_PASSWORDS": corpus])
        let status = await process.exited()
        expectOneLineError(
            (process.text, status), naming: "breached-passwords", "CONTACTPOINT_BREACHED_PASSWORDS", "not sorted",
            "Pwned Passwords")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/identity.sqlite"), "nothing is created")
    }

    @Test("a broker without its allow-list")
    func brokerWithoutAllowList() async {
        expectOneLineError(
            await run(
                "contactpoint-broker",
                ["--key-file", "\(directory)/broker.key", "--allow-list", "\(directory)/missing"]),
            naming: "allow-list", "missing")
    }

    @Test("--print-config shows the settings in force and where each came from, then exits")
    func printConfig() async {
        let result = await run(
            "contactpoint-echo",
            ["--broker", "tcp://127.0.0.1:5555,\(brokerPublicKeyFile)", "--key-file", keyFile, "--print-config"])
        #expect(result.status == 0)
        #expect(result.output.contains("key-file = \(keyFile)  # --key-file"))
        #expect(result.output.contains("sessions = 8  # default"))
        #expect(!result.output.contains("metrics-port"), "metrics are off unless a port is given")
        #expect(!result.output.contains("secret-key"))
    }
}
