import Foundation

/// The file-system calls of a process tree, read from what `strace` recorded of them, in the order
/// they finished: the record half of a record-and-replay crash harness (ALICE, OSDI 2014).
///
/// `strace` is run with `-f -ttt -T -y -xx -s …` (see ``straceArguments(output:)``): every thread,
/// wall-clock start times and durations, paths beside file descriptors, every string in hex and
/// none cut short. Only calls that succeeded and that touch paths under `root` are kept.
struct SystemCallTrace {
    /// One call that changed (or synced) something under the root; paths are absolute.
    enum Operation: Equatable {
        /// `openat` with `O_CREAT` and/or `O_TRUNC`, or any open that returned `descriptor`.
        case open(path: String, descriptor: Int, creates: Bool, truncates: Bool, appends: Bool)
        /// `write`/`pwrite64`/`writev`/`pwritev`: `offset` nil for the descriptor's own position.
        case write(path: String, descriptor: Int, offset: Int?, bytes: [UInt8])
        case seek(path: String, descriptor: Int, position: Int)
        case truncate(path: String, size: Int)
        case makeDirectory(path: String)
        case rename(from: String, to: String)
        case link(from: String, to: String)
        case remove(path: String)
        /// `fsync` or `fdatasync` of a file or a directory.
        case sync(path: String)
    }

    struct Call {
        var thread: Int
        /// Microseconds since the epoch, wall clock (`-ttt`), as `Date()` counts them.
        var startMicros: Int64
        var endMicros: Int64
        var operation: Operation
    }

    /// The calls, by the time each finished.
    var calls: [Call]
    /// Calls on paths that could not be resolved (relative paths without a directory descriptor).
    var unresolved: Int

    /// The system calls recorded: everything that creates, writes, moves, removes or syncs a file.
    static let tracedCalls = [
        "open", "openat", "creat", "write", "pwrite64", "writev", "pwritev", "pwritev2", "lseek", "ftruncate",
        "truncate",
        "fallocate", "rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat", "rmdir", "mkdir",
        "mkdirat",
        "fsync", "fdatasync",
    ]

    /// The `strace` options that record what ``init(contentsOf:root:)`` reads.
    static func straceArguments(output: String) -> [String] {
        [
            "-f", "-qq", "--seccomp-bpf", "-ttt", "-T", "-y", "-xx", "-s", "16777216", "-o", output, "-e",
            "trace=\(tracedCalls.joined(separator: ","))",
        ]
    }

    init(contentsOf file: String, root: String) throws {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped))
        var calls: [Call] = []
        var unresolved = 0
        var unfinished: [Int: (start: Int64, text: ArraySlice<UInt8>)] = [:]
        let prefix = root.hasSuffix("/") ? root : root + "/"
        for line in data.split(separator: UInt8(ascii: "\n")) {
            var cursor = Cursor(line)
            // strace pads the thread id to five columns: `9485  1796….` as well as `16151 1796….`.
            guard let thread = cursor.integer(), cursor.skipSpaces(), let time = cursor.timestamp(), cursor.skipSpaces()
            else { continue }
            var rest = cursor.remaining
            var start = time
            if rest.starts(with: Array("<... ".utf8)) {
                guard let pending = unfinished.removeValue(forKey: thread),
                    let close = rest.firstRange(of: Array(" resumed>".utf8))
                else { continue }
                start = pending.start
                rest = pending.text + rest[close.upperBound...]
            } else if rest.hasSuffix(" <unfinished ...>") {
                unfinished[thread] = (time, rest.dropLast(" <unfinished ...>".utf8.count))
                continue
            }
            guard let parsed = ParsedCall(rest) else { continue }
            switch parsed.operation(under: prefix) {
            case .some(.some(let operation)):
                calls.append(
                    Call(
                        thread: thread, startMicros: start, endMicros: start + parsed.durationMicros,
                        operation: operation))
            case .some(.none): unresolved += 1
            case .none: break
            }
        }
        self.calls = calls.enumerated().sorted { ($0.element.endMicros, $0.offset) < ($1.element.endMicros, $1.offset) }
            .map(\.element)
        self.unresolved = unresolved
    }
}

/// One line's call: its name, its arguments split at the top level, what it returned and how long it took.
private struct ParsedCall {
    var name: String
    var arguments: [ArraySlice<UInt8>]
    var result: ArraySlice<UInt8>
    var durationMicros: Int64

    init?(_ text: ArraySlice<UInt8>) {
        guard let open = text.firstIndex(of: UInt8(ascii: "(")) else { return nil }
        name = String(decoding: text[text.startIndex..<open], as: UTF8.self)
        // The arguments end at the last ") = " (strings are all hex, so none holds one).
        guard let equals = text.lastRange(of: Array(") = ".utf8)), let lt = text.lastIndex(of: UInt8(ascii: "<")),
            lt > equals.upperBound,
            let duration = Double(String(decoding: text[(lt + 1)...].dropLast(), as: UTF8.self))
        else { return nil }
        arguments = Self.split(text[(open + 1)..<equals.lowerBound])
        result = text[equals.upperBound..<lt].dropLast()
        durationMicros = Int64((duration * 1_000_000).rounded())
    }

    var succeeded: Bool { !result.starts(with: Array("-1".utf8)) && !result.starts(with: Array("?".utf8)) }

    /// The return value as a number, and the path `-y` printed beside it (for a descriptor).
    var returned: (value: Int, path: String?) {
        var cursor = Cursor(result)
        let value = cursor.integer() ?? -1
        return (value, cursor.remaining.first == UInt8(ascii: "<") ? decodePath(cursor.remaining) : nil)
    }

    /// nil: nothing under the root; .some(nil): could not tell where; else the operation.
    func operation(under root: String) -> SystemCallTrace.Operation?? {
        guard succeeded else { return nil }
        func under(_ path: String?) -> Bool { path.map { $0.hasPrefix(root) || $0 + "/" == root } ?? false }
        func descriptorPath(_ index: Int) -> String? { index < arguments.count ? decodePath(arguments[index]) : nil }
        func descriptor(_ index: Int) -> Int {
            Int(String(decoding: arguments[index].prefix { $0 != UInt8(ascii: "<") }, as: UTF8.self)) ?? -1
        }
        func number(_ index: Int) -> Int { Int(String(decoding: arguments[index], as: UTF8.self)) ?? 0 }
        /// A path argument, resolved against a directory descriptor argument if relative.
        func path(_ index: Int, directory: Int?) -> String?? {
            let path = String(decoding: decodeString(arguments[index]), as: UTF8.self)
            if path.hasPrefix("/") { return .some(path) }
            guard let directory, let base = descriptorPath(directory) else { return .some(nil) }
            return .some(base + "/" + path)
        }
        func filtered(_ paths: String?..., make: () -> SystemCallTrace.Operation) -> SystemCallTrace.Operation?? {
            if paths.contains(where: { $0 == nil }) { return .some(nil) }
            return paths.contains(where: under) ? .some(make()) : nil
        }
        switch name {
        case "open", "openat", "creat":
            let (fd, resolved) = returned
            guard under(resolved), let resolved else { return nil }
            let flags =
                name == "creat"
                ? "O_CREAT|O_TRUNC" : String(decoding: arguments[name == "openat" ? 2 : 1], as: UTF8.self)
            return .some(
                .open(
                    path: resolved, descriptor: fd, creates: flags.contains("O_CREAT"),
                    truncates: flags.contains("O_TRUNC"),
                    appends: flags.contains("O_APPEND")))
        case "write", "pwrite64", "writev", "pwritev", "pwritev2":
            guard let file = descriptorPath(0), under(file) else { return nil }
            let vector = name.hasPrefix("pwritev") || name == "writev"
            var bytes = vector ? Self.vectorBytes(arguments[1]) : decodeString(arguments[1])
            bytes = Array(bytes.prefix(returned.value))
            let offset = name.hasPrefix("pwrite") ? number(vector ? 3 : 3) : nil
            return .some(.write(path: file, descriptor: descriptor(0), offset: offset, bytes: bytes))
        case "lseek":
            guard let file = descriptorPath(0), under(file) else { return nil }
            return .some(.seek(path: file, descriptor: descriptor(0), position: returned.value))
        case "ftruncate":
            guard let file = descriptorPath(0), under(file) else { return nil }
            return .some(.truncate(path: file, size: number(1)))
        case "fallocate":
            guard let file = descriptorPath(0), under(file) else { return nil }
            return .some(
                .write(
                    path: file, descriptor: descriptor(0), offset: number(2),
                    bytes: [UInt8](repeating: 0, count: number(3))))
        case "truncate":
            guard let file = path(0, directory: nil) else { return .some(nil) }
            return filtered(file) { .truncate(path: file!, size: number(1)) }
        case "fsync", "fdatasync":
            guard let file = descriptorPath(0), under(file) else { return nil }
            return .some(.sync(path: file))
        case "mkdir", "mkdirat":
            guard let directory = name == "mkdir" ? path(0, directory: nil) : path(1, directory: 0) else {
                return .some(nil)
            }
            return filtered(directory) { .makeDirectory(path: directory!) }
        case "unlink", "rmdir", "unlinkat":
            guard let file = name == "unlinkat" ? path(1, directory: 0) : path(0, directory: nil) else {
                return .some(nil)
            }
            return filtered(file) { .remove(path: file!) }
        case "rename", "link", "renameat", "renameat2", "linkat":
            let at = name.hasSuffix("at") || name == "renameat2"
            guard let from = at ? path(1, directory: 0) : path(0, directory: nil),
                let to = at ? path(3, directory: 2) : path(1, directory: nil)
            else { return .some(nil) }
            return filtered(from, to) {
                name.hasPrefix("link") ? .link(from: from!, to: to!) : .rename(from: from!, to: to!)
            }
        default:
            return nil
        }
    }

    /// Splits at commas outside quotes, brackets and braces.
    static func split(_ text: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var depth = 0
        var quoted = false
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if quoted {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { quoted = false }
            } else {
                switch byte {
                case UInt8(ascii: "\""): quoted = true
                case UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "<"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ">"): depth -= 1
                case UInt8(ascii: ",") where depth == 0:
                    parts.append(trim(text[start..<index]))
                    start = index + 1
                default: break
                }
            }
            index += 1
        }
        parts.append(trim(text[start..<text.endIndex]))
        return parts
    }

    static func trim(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var text = text
        while text.first == UInt8(ascii: " ") { text = text.dropFirst() }
        return text
    }

    /// The bytes of every `iov_base="…"` in a `writev` vector, in order.
    static func vectorBytes(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = text
        while let base = rest.firstRange(of: Array("iov_base=".utf8)) {
            rest = rest[base.upperBound...]
            bytes += decodeString(rest)
            guard let close = rest.dropFirst().firstIndex(of: UInt8(ascii: "\"")) else { break }
            rest = rest[(close + 1)...]
        }
        return bytes
    }
}

/// The path `-y` printed in angle brackets after a descriptor (`3</tmp/x>`), decoded.
private func decodePath(_ text: ArraySlice<UInt8>) -> String? {
    guard let open = text.firstIndex(of: UInt8(ascii: "<")), let close = text.lastIndex(of: UInt8(ascii: ">")),
        close > open
    else { return nil }
    return String(decoding: unescape(text[(open + 1)..<close]), as: UTF8.self)
}

/// The bytes of a quoted string argument (`"\x68\x69"`); a string `strace` cut short (`"…"...`)
/// is a recording made with too small a `-s`, and stops the run.
private func decodeString(_ text: ArraySlice<UInt8>) -> [UInt8] {
    guard text.first == UInt8(ascii: "\""), let close = text.dropFirst().firstIndex(of: UInt8(ascii: "\"")) else {
        return []
    }
    precondition(
        !text[(close + 1)...].starts(with: Array("...".utf8)), "strace cut a string short: record with a larger -s")
    return unescape(text[(text.startIndex + 1)..<close])
}

/// `\xHH` escapes (all `-xx` prints) and C escapes, to bytes.
private func unescape(_ text: ArraySlice<UInt8>) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.count / 4)
    var index = text.startIndex
    while index < text.endIndex {
        let byte = text[index]
        if byte == UInt8(ascii: "\\"), index + 1 < text.endIndex {
            let next = text[index + 1]
            if next == UInt8(ascii: "x"), index + 3 < text.endIndex, let high = hexValue(text[index + 2]),
                let low = hexValue(text[index + 3])
            {
                bytes.append(high << 4 | low)
                index += 4
                continue
            }
            let escaped: [UInt8: UInt8] = [
                UInt8(ascii: "n"): 10, UInt8(ascii: "t"): 9, UInt8(ascii: "r"): 13, UInt8(ascii: "\\"): 92,
                UInt8(ascii: "\""): 34,
            ]
            bytes.append(escaped[next] ?? next)
            index += 2
        } else {
            bytes.append(byte)
            index += 1
        }
    }
    return bytes
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Reads numbers off the front of a line.
private struct Cursor {
    var remaining: ArraySlice<UInt8>
    init(_ text: ArraySlice<UInt8>) { remaining = text }

    mutating func integer() -> Int? {
        let digits = remaining.prefix {
            ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
        }
        guard !digits.isEmpty, let value = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
        remaining = remaining.dropFirst(digits.count)
        return value
    }

    /// `1796219531.166763` as microseconds.
    mutating func timestamp() -> Int64? {
        guard let seconds = integer(), skip("."), let micros = integer() else { return nil }
        return Int64(seconds) * 1_000_000 + Int64(micros)
    }

    /// Skips one or more spaces; false if there is none.
    mutating func skipSpaces() -> Bool {
        let spaces = remaining.prefix { $0 == UInt8(ascii: " ") }.count
        remaining = remaining.dropFirst(spaces)
        return spaces > 0
    }

    mutating func skip(_ text: String) -> Bool {
        guard remaining.starts(with: Array(text.utf8)) else { return false }
        remaining = remaining.dropFirst(text.utf8.count)
        return true
    }
}

extension ArraySlice where Element == UInt8 {
    fileprivate func hasSuffix(_ text: String) -> Bool { self.reversed().starts(with: Array(text.utf8).reversed()) }

    fileprivate func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard needle.count <= count else { return nil }
        var start = endIndex - needle.count
        while start >= startIndex {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return start..<(start + needle.count) }
            start -= 1
        }
        return nil
    }
}
