/// A strict, small CBOR (RFC 8949) reader for what WebAuthn sends: attestation objects and COSE
/// keys. Definite lengths only; integers, byte and text strings, arrays, maps, `true`, `false`
/// and `null`; no tags, no floats, no indefinite lengths; nesting at most 16 deep; a map's keys
/// unique. Anything else is refused rather than guessed at.
public indirect enum CBOR: Equatable, Sendable {
    case unsigned(UInt64)
    /// A negative integer, -1 - n.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([(key: CBOR, value: CBOR)])
    case boolean(Bool)
    case null

    public static func == (a: CBOR, b: CBOR) -> Bool {
        switch (a, b) {
        case (.unsigned(let x), .unsigned(let y)), (.negative(let x), .negative(let y)): x == y
        case (.bytes(let x), .bytes(let y)): x == y
        case (.text(let x), .text(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.map(let x), .map(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.boolean(let x), .boolean(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// The value of `key` in a map (`nil` for a missing key or a value that is not a map).
    public subscript(key: CBOR) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public subscript(key: String) -> CBOR? { self[.text(key)] }

    /// The value of an integer key, as COSE uses (1, 3, -1, -2, …).
    public subscript(integer key: Int) -> CBOR? {
        self[key >= 0 ? .unsigned(UInt64(key)) : .negative(UInt64(-1 - key))]
    }

    public var bytes: [UInt8]? {
        if case .bytes(let value) = self { return value }
        return nil
    }

    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// An integer that fits an `Int`.
    public var integer: Int? {
        switch self {
        case .unsigned(let value): value <= UInt64(Int.max) ? Int(value) : nil
        case .negative(let value): value < UInt64(Int.max) ? -1 - Int(value) : nil
        default: nil
        }
    }

    /// Reads one data item from the start of `data`; returns it and how many bytes it took.
    public static func decodePrefix(_ data: ArraySlice<UInt8>) throws(CBORError) -> (CBOR, Int) {
        var reader = Reader(data: data)
        let value = try reader.item(depth: 0)
        return (value, reader.position - data.startIndex)
    }

    /// Reads exactly one data item: bytes after it are an error.
    public static func decode(_ data: [UInt8]) throws(CBORError) -> CBOR {
        let (value, length) = try decodePrefix(data[...])
        guard length == data.count else { throw .trailingBytes }
        return value
    }

    private struct Reader {
        let data: ArraySlice<UInt8>
        var position: Int

        init(data: ArraySlice<UInt8>) {
            self.data = data
            position = data.startIndex
        }

        mutating func byte() throws(CBORError) -> UInt8 {
            guard position < data.endIndex else { throw .truncated }
            defer { position += 1 }
            return data[position]
        }

        mutating func take(_ count: UInt64) throws(CBORError) -> ArraySlice<UInt8> {
            guard count <= UInt64(data.endIndex - position) else { throw .truncated }
            defer { position += Int(count) }
            return data[position..<position + Int(count)]
        }

        /// The argument of an initial byte's additional information (RFC 8949 §3).
        mutating func argument(_ additional: UInt8) throws(CBORError) -> UInt64 {
            switch additional {
            case 0..<24: return UInt64(additional)
            case 24...27:
                let width = 1 << (additional - 24)
                return try take(UInt64(width)).reduce(0) { $0 << 8 | UInt64($1) }
            case 31: throw .unsupported("indefinite lengths")
            default: throw .malformed("reserved additional information \(additional)")
            }
        }

        mutating func item(depth: Int) throws(CBORError) -> CBOR {
            guard depth <= 16 else { throw .unsupported("nesting deeper than 16") }
            let initial = try byte()
            let major = initial >> 5
            let additional = initial & 0x1f
            switch major {
            case 0: return .unsigned(try argument(additional))
            case 1: return .negative(try argument(additional))
            case 2: return .bytes(Array(try take(try argument(additional))))
            case 3:
                let bytes = try take(try argument(additional))
                guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("text is not UTF-8") }
                return .text(text)
            case 4:
                let count = try argument(additional)
                // Every item takes at least a byte: a count beyond what is left is a lie.
                guard count <= UInt64(data.endIndex - position) else { throw .truncated }
                var items: [CBOR] = []
                for _ in 0..<count { items.append(try item(depth: depth + 1)) }
                return .array(items)
            case 5:
                let count = try argument(additional)
                guard count <= UInt64(data.endIndex - position) / 2 else { throw .truncated }
                var entries: [(key: CBOR, value: CBOR)] = []
                for _ in 0..<count {
                    let key = try item(depth: depth + 1)
                    guard !entries.contains(where: { $0.key == key }) else { throw .malformed("a map key repeated") }
                    entries.append((key, try item(depth: depth + 1)))
                }
                return .map(entries)
            case 7:
                switch additional {
                case 20: return .boolean(false)
                case 21: return .boolean(true)
                case 22: return .null
                default: throw .unsupported("simple value or float \(additional)")
                }
            default:
                throw .unsupported("tags")
            }
        }
    }
}

public enum CBORError: Error, Equatable, CustomStringConvertible {
    case truncated
    case trailingBytes
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .truncated: "CBOR ends early"
        case .trailingBytes: "bytes after the CBOR item"
        case .malformed(let what): "malformed CBOR: \(what)"
        case .unsupported(let what): "CBOR with \(what) is not accepted"
        }
    }
}
