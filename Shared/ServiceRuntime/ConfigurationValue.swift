public import BusTransport
public import Logging
public import ZeroMQ

/// Parsers for the kinds of value settings have; each failure says what a good value looks like.
public enum ConfigurationValue {
    public static func text(_ text: String) throws(ConfigurationError.Problem) -> String {
        guard !text.isEmpty else { throw .init("the value is empty", fix: "give a value") }
        return text
    }

    public static func boolean(_ text: String) throws(ConfigurationError.Problem) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .init("`\(text)` is not true or false", fix: "write true or false")
        }
    }

    /// An email address: something@domain, no spaces.
    public static func email(_ text: String) throws(ConfigurationError.Problem) -> String {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !text.contains(where: \.isWhitespace),
            text.count <= 254
        else {
            throw .init("`\(text)` is not an email address", fix: "give an address such as admin@example.gov.uk")
        }
        return text
    }

    public static func integer(in range: ClosedRange<Int>) -> (String) throws(ConfigurationError.Problem) -> Int {
        { (text: String) throws(ConfigurationError.Problem) -> Int in
            guard let value = Int(text), range.contains(value) else {
                throw .init(
                    "`\(text)` is not a whole number from \(range.lowerBound) to \(range.upperBound)",
                    fix: "give a whole number in that range")
            }
            return value
        }
    }

    /// `250ms`, `30s`, `5m`, or a bare number of seconds.
    public static func duration(_ text: String) throws(ConfigurationError.Problem) -> Duration {
        let units: [(suffix: String, scale: Duration)] = [
            ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
        ]
        let unit = units.first { text.hasSuffix($0.suffix) }
        let number = unit.map { String(text.dropLast($0.suffix.count)) } ?? text
        guard let count = Int(number), count >= 0 else {
            throw .init("`\(text)` is not a duration", fix: "write a whole number with ms, s, m or h, e.g. 30s")
        }
        return (unit?.scale ?? .seconds(1)) * count
    }

    /// A duration (as ``duration(_:)``) within `range`; `named` says the bounds as the user writes them.
    public static func duration(
        in range: ClosedRange<Duration>, named bounds: String
    ) -> (String) throws(ConfigurationError.Problem) -> Duration {
        { (text: String) throws(ConfigurationError.Problem) -> Duration in
            let value = try duration(text)
            guard range.contains(value) else {
                throw .init("`\(text)` is not from \(bounds)", fix: "give a duration from \(bounds)")
            }
            return value
        }
    }

    public static func logLevel(_ text: String) throws(ConfigurationError.Problem) -> Logger.Level {
        guard let level = Logger.Level(rawValue: text) else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw .init("`\(text)` is not a log level", fix: "use one of \(levels)")
        }
        return level
    }

    /// A ZeroMQ endpoint to bind or connect: `tcp://HOST:PORT` (`*` for any port when binding),
    /// `ipc://PATH` or `inproc://NAME`.
    public static func endpoint(_ text: String) throws(ConfigurationError.Problem) -> String {
        let fix = "write tcp://HOST:PORT (e.g. tcp://127.0.0.1:5555), ipc://PATH or inproc://NAME"
        if text.hasPrefix("ipc://") || text.hasPrefix("inproc://") {
            guard !text.hasSuffix("//") else { throw .init("`\(text)` has no path", fix: fix) }
            return text
        }
        guard text.hasPrefix("tcp://"), let colon = text.lastIndex(of: ":"),
            colon > text.index(text.startIndex, offsetBy: 6)
        else {
            throw .init("`\(text)` is not a ZeroMQ endpoint", fix: fix)
        }
        let port = text[text.index(after: colon)...]
        guard port == "*" || UInt16(port) != nil else { throw .init("`\(text)` has no valid port", fix: fix) }
        return text
    }

    /// `ENDPOINT,PUBLIC-KEY-FILE`: a broker and the file with its public key, which is read now.
    public static func broker(_ text: String) throws(ConfigurationError.Problem) -> BrokerAddress {
        let fix = "write ENDPOINT,PUBLIC-KEY-FILE, e.g. tcp://127.0.0.1:5555,/etc/contactpoint/keys/broker-1.pub"
        guard let comma = text.lastIndex(of: ",") else {
            throw .init("`\(text)` does not name the broker's public key file", fix: fix)
        }
        let endpoint = try endpoint(String(text[..<comma]))
        let keyFile = String(text[text.index(after: comma)...])
        do {
            return BrokerAddress(endpoint: endpoint, publicKey: try KeyFile.readPublicKey(at: keyFile))
        } catch {
            throw .init("\(error)", fix: "give the broker's .pub file (`contactpoint keys generate` writes one)")
        }
    }

    /// The path of this process's key pair file, read now.
    public static func keyPair(_ path: String) throws(ConfigurationError.Problem) -> CurveKeyPair {
        do {
            return try KeyFile.readKeyPair(at: path)
        } catch {
            throw .init("\(error)", fix: "create one with `contactpoint keys generate NAME` and give the NAME.key path")
        }
    }
}

extension BrokerAddress: CustomDebugStringConvertible {
    public var debugDescription: String { "\(endpoint),\(publicKey.z85)" }
}

extension ConfigurationValue {
    /// Parses a value that came from somewhere other than a reader, naming `key` in the error.
    public static func parsing<Value>(
        _ key: String, _ text: String, _ parse: (String) throws(ConfigurationError.Problem) -> Value
    ) throws(ConfigurationError) -> Value {
        do {
            return try parse(text)
        } catch {
            throw ConfigurationError(key: key, source: "configuration", problem: error.problem, fix: error.fix)
        }
    }
}
