import Foundation

/// Reads an executable's settings from, in order of precedence, its command-line flags, the
/// environment (`CONTACTPOINT_` + the key in upper case with `-` as `_`), an optional
/// configuration file, and the built-in default.
///
/// The file has one `key = value` per line and `#` comments; a list setting (such as `broker`)
/// repeats its key. Every key read is recorded with where its value came from, so that
/// ``effectiveSettings`` can print the configuration in force (secrets redacted), and
/// ``rejectUnknownKeys()`` can refuse a file that names a key no one read — a misspelt key is an
/// error, never silently ignored. Unknown `CONTACTPOINT_*` environment variables are ignored: the
/// environment is shared by every process of a stack.
public struct ConfigurationReader: Sendable {
    /// One setting as it is in force: what `--print-config` shows.
    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: String
        public var source: String

        public init(key: String, value: String, source: String) {
            self.key = key
            self.value = value
            self.source = source
        }
    }

    private struct FileEntry: Sendable {
        var value: String
        var line: Int
    }

    public let executable: String
    private let filePath: String?
    private let fileEntries: [String: [FileEntry]]
    private let environment: [String: String]
    private var readKeys: Set<String> = []
    private var secretKeys: Set<String> = []
    private var settings: [Setting] = []

    /// Reads `file` if given; a file that cannot be read or parsed is an error naming the line.
    public init(executable: String, file: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigurationError)
    {
        self.executable = executable
        self.filePath = file
        self.environment = environment
        guard let file else {
            fileEntries = [:]
            return
        }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                key: "config", source: "--config", problem: "cannot read \(file): \(Self.reason(error))",
                fix: "give the path of a readable configuration file")
        }
        var entries: [String: [FileEntry]] = [:]
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(
                    key: "config", source: "\(file):\(offset + 1)", problem: "expected `key = value`",
                    fix: "write one `key = value` per line (`#` starts a comment)")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            entries[key, default: []].append(FileEntry(value: value, line: offset + 1))
        }
        fileEntries = entries
    }

    /// The environment variable that sets `key`.
    public static func environmentVariable(for key: String) -> String {
        "CONTACTPOINT_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    // MARK: Reading values

    /// The value of a single-valued setting, parsed by `parse`, which throws a
    /// ``ConfigurationError/Problem`` for a bad value; `defaultValue` when the setting is absent
    /// everywhere.
    public mutating func value<Value>(
        _ key: String, flag: String?, default defaultValue: Value, secret: Bool = false,
        parse: (String) throws(ConfigurationError.Problem) -> Value
    ) throws(ConfigurationError) -> Value {
        try read(key, flag: flag, default: defaultValue, secret: secret, parse: parse) ?? defaultValue
    }

    /// The value of a single-valued setting without a default: `nil` when it is absent everywhere.
    public mutating func optionalValue<Value>(
        _ key: String, flag: String?, secret: Bool = false, parse: (String) throws(ConfigurationError.Problem) -> Value
    ) throws(ConfigurationError) -> Value? {
        try read(key, flag: flag, default: nil, secret: secret, parse: parse)
    }

    private mutating func read<Value>(
        _ key: String, flag: String?, default defaultValue: Value?, secret: Bool,
        parse: (String) throws(ConfigurationError.Problem) -> Value
    ) throws(ConfigurationError) -> Value? {
        record(key, secret: secret)
        let variable = Self.environmentVariable(for: key)
        let found: (text: String, source: String)? =
            if let flag {
                (flag, "--\(key)")
            } else if let text = environment[variable] {
                (text, variable)
            } else if let entry = fileEntries[key]?.last, let filePath {
                (entry.value, "\(filePath):\(entry.line)")
            } else {
                nil
            }
        guard let found else {
            if let defaultValue { settings.append(Setting(key: key, value: "\(defaultValue)", source: "default")) }
            return defaultValue
        }
        do {
            let parsed = try parse(found.text)
            settings.append(Setting(key: key, value: found.text, source: found.source))
            return parsed
        } catch {
            throw ConfigurationError(key: key, source: found.source, problem: error.problem, fix: error.fix)
        }
    }

    /// A setting that must have a value; its absence is an error that says how to give one.
    public mutating func required<Value>(
        _ key: String, flag: String?, secret: Bool = false, fix: String,
        parse: (String) throws(ConfigurationError.Problem) -> Value
    ) throws(ConfigurationError) -> Value {
        guard let value = try optionalValue(key, flag: flag, secret: secret, parse: parse) else {
            throw ConfigurationError(
                key: key, source: "configuration", problem: "no value is set",
                fix:
                    """
                    pass --\(key), set \(Self.environmentVariable(for: key)) or put `\(key) = …` in the --config \
                    file; \(fix)
                    """
            )
        }
        return value
    }

    /// A list setting: every flag if any were given, else the environment variable's
    /// whitespace-separated words, else every line of the file with this key, else the default.
    public mutating func list<Element>(
        _ key: String, flags: [String], default defaultValue: [Element] = [],
        parse: (String) throws(ConfigurationError.Problem) -> Element
    ) throws(ConfigurationError) -> [Element] {
        record(key, secret: false)
        let variable = Self.environmentVariable(for: key)
        let found: [(text: String, source: String)] =
            if !flags.isEmpty {
                flags.map { ($0, "--\(key)") }
            } else if let text = environment[variable] {
                text.split(whereSeparator: \.isWhitespace).map { (String($0), variable) }
            } else if let entries = fileEntries[key], let filePath {
                entries.map { ($0.value, "\(filePath):\($0.line)") }
            } else {
                []
            }
        guard !found.isEmpty else {
            settings += defaultValue.map { Setting(key: key, value: "\($0)", source: "default") }
            return defaultValue
        }
        var values: [Element] = []
        for item in found {
            do {
                values.append(try parse(item.text))
            } catch {
                throw ConfigurationError(key: key, source: item.source, problem: error.problem, fix: error.fix)
            }
            settings.append(Setting(key: key, value: item.text, source: item.source))
        }
        return values
    }

    // MARK: After reading

    /// Fails on the first key in the file that nothing read: a misspelling or a setting of
    /// another executable.
    public func rejectUnknownKeys() throws(ConfigurationError) {
        guard let filePath else { return }
        let unknown = fileEntries.filter { !readKeys.contains($0.key) }
            .flatMap { key, entries in entries.map { (key, $0.line) } }
            .min { $0.1 < $1.1 }
        if let (key, line) = unknown {
            throw ConfigurationError(
                key: key, source: "\(filePath):\(line)", problem: "\(executable) has no setting `\(key)`",
                fix: "remove the line or correct the key; the keys are: \(readKeys.sorted().joined(separator: ", "))")
        }
    }

    /// The settings in force, in the order they were read, with secret values redacted.
    public var effectiveSettings: [Setting] {
        settings.map { setting in
            var shown = setting
            if secretKeys.contains(setting.key) { shown.value = "<redacted>" }
            return shown
        }
    }

    private mutating func record(_ key: String, secret: Bool) {
        readKeys.insert(key)
        if secret { secretKeys.insert(key) }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
