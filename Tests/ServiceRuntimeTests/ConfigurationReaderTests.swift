import Foundation
import ServiceRuntime
import TestSupport
import Testing

@Suite("Configuration from flags, environment and file")
struct ConfigurationReaderTests {
    private let temporaryDirectory: TemporaryDirectory
    var directory: String { temporaryDirectory.path }

    init() throws {
        temporaryDirectory = try TemporaryDirectory(prefix: "config")
    }

    func file(_ text: String) throws -> String {
        let path = "\(directory)/service.conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a flag beats the environment, which beats the file, which beats the default")
    func precedence() throws {
        let path = try file("sessions = 3\nheartbeat = 2s\ngrace-period = 7s\n")
        var reader = try ConfigurationReader(
            executable: "test", file: path,
            environment: ["CONTACTPOINT_SESSIONS": "5", "CONTACTPOINT_HEARTBEAT": "250ms"])
        let integer = ConfigurationValue.integer(in: 1...100)
        #expect(try reader.value("sessions", flag: "9", default: 1, parse: integer) == 9)
        #expect(
            try reader.value("heartbeat", flag: nil, default: .seconds(1), parse: ConfigurationValue.duration)
                == .milliseconds(250))
        #expect(
            try reader.value("grace-period", flag: nil, default: .seconds(1), parse: ConfigurationValue.duration)
                == .seconds(7))
        #expect(
            try reader.value("log-level", flag: nil, default: .notice, parse: ConfigurationValue.logLevel) == .notice)
        #expect(
            reader.effectiveSettings.map(\.source) == ["--sessions", "CONTACTPOINT_HEARTBEAT", "\(path):3", "default"])
    }

    @Test("a list repeats its key in the file, or separates words in the environment")
    func lists() throws {
        let path = try file("# two brokers\nname = a\nname = b\n")
        var fromFile = try ConfigurationReader(executable: "test", file: path, environment: [:])
        #expect(try fromFile.list("name", flags: [], parse: ConfigurationValue.text) == ["a", "b"])
        var fromEnvironment = try ConfigurationReader(
            executable: "test", file: path, environment: ["CONTACTPOINT_NAME": "c  d"])
        #expect(try fromEnvironment.list("name", flags: [], parse: ConfigurationValue.text) == ["c", "d"])
        var fromFlags = try ConfigurationReader(executable: "test", file: path, environment: ["CONTACTPOINT_NAME": "c"])
        #expect(try fromFlags.list("name", flags: ["e"], parse: ConfigurationValue.text) == ["e"])
    }

    @Test("a key in the file that nothing reads is an error naming it, its line and the known keys")
    func unknownKey() throws {
        let path = try file("sessions = 3\nsesions = 4\n")
        var reader = try ConfigurationReader(executable: "contactpoint-echo", file: path, environment: [:])
        _ = try reader.value("sessions", flag: nil, default: 1, parse: ConfigurationValue.integer(in: 1...10))
        let error = #expect(throws: ConfigurationError.self) { try reader.rejectUnknownKeys() }
        #expect(error?.key == "sesions")
        #expect(error?.source == "\(path):2")
        #expect(error?.description.contains("the keys are: sessions") == true)
    }

    @Test("a line that is not `key = value` is an error naming the line")
    func malformedLine() throws {
        let path = try file("sessions = 3\njust words\n")
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationReader(executable: "test", file: path, environment: [:])
        }
        #expect(error?.source == "\(path):2")
    }

    @Test("a bad value names the key, where it came from, and how to fix it")
    func badValue() throws {
        var reader = try ConfigurationReader(
            executable: "test", file: nil, environment: ["CONTACTPOINT_SESSIONS": "many"])
        let error = #expect(throws: ConfigurationError.self) {
            try reader.value("sessions", flag: nil, default: 8, parse: ConfigurationValue.integer(in: 1...1024))
        }
        #expect(
            error?.description
                == """
                configuration error in `sessions` (from CONTACTPOINT_SESSIONS): `many` is not a whole number from \
                1 to 1024; fix: give a whole number in that range
                """
        )
    }

    @Test("a missing required setting says every way to give it")
    func missingRequired() throws {
        var reader = try ConfigurationReader(executable: "test", file: nil, environment: [:])
        let error = #expect(throws: ConfigurationError.self) {
            try reader.required("key-file", flag: nil, fix: "give the .key file", parse: ConfigurationValue.text)
        }
        #expect(error?.fix.contains("--key-file") == true)
        #expect(error?.fix.contains("CONTACTPOINT_KEY_FILE") == true)
    }

    @Test("secret values are redacted when the configuration is printed")
    func secretsRedacted() throws {
        var reader = try ConfigurationReader(
            executable: "test", file: nil, environment: ["CONTACTPOINT_PEPPER": "s3cret"])
        #expect(try reader.optionalValue("pepper", flag: nil, secret: true, parse: ConfigurationValue.text) == "s3cret")
        #expect(reader.effectiveSettings == [.init(key: "pepper", value: "<redacted>", source: "CONTACTPOINT_PEPPER")])
    }

    @Test("a configuration file that cannot be read is one clear error")
    func unreadableFile() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationReader(executable: "test", file: "\(directory)/missing.conf", environment: [:])
        }
        #expect(error?.key == "config")
        #expect(error?.problem.contains("missing.conf") == true)
    }
}

@Suite("Configuration values")
struct ConfigurationValueTests {
    @Test(
        "endpoints",
        arguments: ["tcp://127.0.0.1:5555", "tcp://*:5555", "tcp://127.0.0.1:*", "ipc:///tmp/bus", "inproc://bus"])
    func goodEndpoint(_ text: String) throws {
        #expect(try ConfigurationValue.endpoint(text) == text)
    }

    @Test(
        "malformed endpoints are refused",
        arguments: ["127.0.0.1:5555", "tcp://127.0.0.1", "tcp://host:port", "udp://x:1", "tcp://:99999"])
    func badEndpoint(_ text: String) {
        #expect(throws: ConfigurationError.Problem.self) { try ConfigurationValue.endpoint(text) }
    }

    @Test(
        "durations",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("2m", .seconds(120)), ("5", .seconds(5)),
        ])
    func durations(_ text: String, _ expected: Duration) throws {
        #expect(try ConfigurationValue.duration(text) == expected)
    }

    @Test("a broker whose key file is missing names the file")
    func brokerKeyMissing() {
        let error = #expect(throws: ConfigurationError.Problem.self) {
            try ConfigurationValue.broker("tcp://127.0.0.1:5555,/nonexistent/broker.pub")
        }
        #expect(error?.problem.contains("/nonexistent/broker.pub") == true)
    }
}
