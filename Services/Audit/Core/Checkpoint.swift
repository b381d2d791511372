import DurableFiles
import Foundation
public import SecurityPrimitives

/// A signed tree head as a C2SP signed note (https://c2sp.org/signed-note) whose body is a C2SP
/// checkpoint (https://c2sp.org/tlog-checkpoint) with one extension line, the timestamp:
///
/// ```
/// contactpoint-audit                          origin, also the signing key's name
/// 1234                                        tree size
/// 3q2+7w…=                                    root hash, base64
/// 1764115200000                               timestamp, Unix ms
///
/// — contactpoint-audit base64(key hash ‖ Ed25519 signature of the four lines above)
/// ```
///
/// The key hash is the first 4 bytes of SHA-256("contactpoint-audit" ‖ "\n" ‖ 0x01 ‖ public
/// key) (0x01: Ed25519), so any standard note verifier given the ``verifierKey(of:)`` checks it.
/// Exported one file per head (`<size>.checkpoint`) so that the directory can be copied
/// elsewhere as it grows; whoever holds a copy can later prove that the log was not rewritten.
public struct Checkpoint: Sendable, Equatable {
    public static let origin = "contactpoint-audit"
    /// The C2SP signature type of Ed25519.
    static let ed25519: UInt8 = 0x01

    public var size: UInt64
    public var rootHash: [UInt8]
    public var timestampMS: Int64
    /// The key hash in hex (8 characters). Heads signed before C2SP key hashes name their key
    /// by its ``legacyKeyID(of:)`` in the database (append-only, so never renamed) and in
    /// checkpoint files copied elsewhere before.
    public var keyID: String
    public var signature: [UInt8]

    static func body(size: UInt64, rootHash: [UInt8], timestampMS: Int64) -> String {
        "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n\(timestampMS)\n"
    }

    var body: String { Self.body(size: size, rootHash: rootHash, timestampMS: timestampMS) }

    /// The signed note: body, a blank line, the signature line.
    public var note: String {
        let keyHash = [UInt8](hex: keyID) ?? []
        return "\(body)\n— \(Self.origin) \(Data(keyHash + signature).base64EncodedString())\n"
    }

    public var fileName: String { String(format: "%020llu.checkpoint", size) }

    public init(size: UInt64, rootHash: [UInt8], timestampMS: Int64, keyID: String, signature: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
        self.timestampMS = timestampMS
        self.keyID = keyID
        self.signature = signature
    }

    /// A stored head, its key named by its key hash if `key` signed it under its legacy id.
    init(_ head: AuditStore.TreeHead, signedBy key: Ed25519.PublicKey) {
        self.init(
            size: head.size, rootHash: head.rootHash, timestampMS: head.timestampMS,
            keyID: head.keyID == Self.legacyKeyID(of: key) ? Self.keyID(of: key) : head.keyID,
            signature: head.signature)
    }

    /// Reads a note: its signature line by this log's key name (others, by other keys, are
    /// ignored, as C2SP says), or the signature line of checkpoints exported before, which put
    /// the key id in a field of its own (`— contactpoint-audit <hex id> <base64 signature>`).
    init?(note: String) {
        let parts = note.components(separatedBy: "\n\n")
        guard parts.count == 2, parts[1].hasSuffix("\n") else { return nil }
        let lines = parts[0].split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 4, lines[0] == Self.origin, let size = UInt64(lines[1]),
            let root = Data(base64Encoded: String(lines[2])), root.count == 32, let timestamp = Int64(lines[3])
        else { return nil }
        var signed: (keyID: String, signature: [UInt8])?
        for line in parts[1].dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 3, fields[0] == "—" else { return nil }
            guard fields[1] == Self.origin, signed == nil else { continue }
            if fields.count == 3, let bytes = Data(base64Encoded: String(fields[2])), bytes.count == 4 + 64 {
                signed = (Array(bytes.prefix(4)).hexString, Array(bytes.dropFirst(4)))
            } else if fields.count == 4, let signature = Data(base64Encoded: String(fields[3])) {
                signed = (String(fields[2]), Array(signature))
            } else {
                return nil
            }
        }
        guard let signed else { return nil }
        self.init(
            size: size, rootHash: Array(root), timestampMS: timestamp, keyID: signed.keyID,
            signature: signed.signature)
    }

    public func isSigned(by key: Ed25519.PublicKey) -> Bool {
        [Self.keyID(of: key), Self.legacyKeyID(of: key)].contains(keyID)
            && key.isValidSignature(signature, for: Array(body.utf8))
    }

    /// The C2SP key hash: the first 4 bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key).
    static func keyHash(of key: Ed25519.PublicKey, name: String = origin) -> [UInt8] {
        Array(SHA256.hash(Array("\(name)\n".utf8) + [ed25519] + key.rawRepresentation).prefix(4))
    }

    /// The key hash in hex: how heads and checkpoints name their key.
    static func keyID(of key: Ed25519.PublicKey) -> String { keyHash(of: key).hexString }

    /// How heads named their key before C2SP key hashes: the first 4 bytes of the SHA-256 of the
    /// raw public key, in hex.
    static func legacyKeyID(of key: Ed25519.PublicKey) -> String {
        Array(SHA256.hash(key.rawRepresentation).prefix(4)).hexString
    }

    /// The C2SP verifier key: `contactpoint-audit+<key hash, hex>+<base64(0x01 ‖ public key)>`.
    public static func verifierKey(of key: Ed25519.PublicKey, name: String = origin) -> String {
        let encoded = Data([ed25519] + key.rawRepresentation).base64EncodedString()
        return "\(name)+\(keyHash(of: key, name: name).hexString)+\(encoded)"
    }

    /// The public key of a verifier key, if it is one for this log's key name whose hash matches.
    static func publicKey(verifierKey text: String) -> Ed25519.PublicKey? {
        let fields = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0] == origin, let encoded = Data(base64Encoded: String(fields[2])),
            encoded.count == 33, encoded.first == ed25519,
            let key = try? Ed25519.PublicKey(rawRepresentation: Array(encoded.dropFirst())),
            fields[1] == keyID(of: key)
        else { return nil }
        return key
    }
}

/// The key that signs tree heads, kept in the audit service's secrets directory
/// (`signing.key`, hex, 0600), and its public half exported beside the checkpoints.
struct TreeHeadKey: Sendable {
    let privateKey: Ed25519.PrivateKey
    var keyID: String { Checkpoint.keyID(of: privateKey.publicKey) }

    static func load(directory: String) throws -> TreeHeadKey {
        try DurableFile.createDirectory(directory, mode: 0o700)
        return TreeHeadKey(
            privateKey: try Ed25519.PrivateKey(
                rawRepresentation: try SecretFile.readOrCreate("\(directory)/signing.key")))
    }

    func sign(size: UInt64, rootHash: [UInt8], timestampMS: Int64) throws -> Checkpoint {
        let body = Checkpoint.body(size: size, rootHash: rootHash, timestampMS: timestampMS)
        return Checkpoint(
            size: size, rootHash: rootHash, timestampMS: timestampMS, keyID: keyID,
            signature: try privateKey.signature(for: Array(body.utf8)))
    }

    /// The file verifiers read the public key from: its C2SP verifier key (``Checkpoint/verifierKey(of:)``),
    /// a newline.
    static let publicKeyFileName = "audit-signing-key.pub"

    /// Reads a verifier key, or the hex of the raw key that files exported before held.
    static func readPublicKey(path: String) throws -> Ed25519.PublicKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CheckpointDirectoryError(path: path, reason: "cannot be read")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let key = Checkpoint.publicKey(verifierKey: trimmed) { return key }
        guard let bytes = [UInt8](hex: trimmed), let key = try? Ed25519.PublicKey(rawRepresentation: bytes) else {
            throw CheckpointDirectoryError(
                path: path, reason: "not a verifier key (\(Checkpoint.origin)+<key hash>+<base64 key>) of this log")
        }
        return key
    }
}

/// Where checkpoints are exported: files written whole and durably (see `DurableFile`).
public struct CheckpointDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Creates the directory and writes the verifier key into it; checkpoints exported before
    /// C2SP key hashes are rewritten with the key hash (their signatures stand).
    func prepare(publicKey: Ed25519.PublicKey) throws {
        try DurableFile.createDirectory(path, mode: 0o755)
        try write(Checkpoint.verifierKey(of: publicKey) + "\n", to: TreeHeadKey.publicKeyFileName)
        for var checkpoint in try checkpoints().valid where checkpoint.keyID == Checkpoint.legacyKeyID(of: publicKey) {
            checkpoint.keyID = Checkpoint.keyID(of: publicKey)
            try write(checkpoint.note, to: checkpoint.fileName)
        }
    }

    public func export(_ checkpoint: Checkpoint) throws {
        try write(checkpoint.note, to: checkpoint.fileName)
    }

    func contains(_ checkpoint: Checkpoint) -> Bool {
        FileManager.default.fileExists(atPath: "\(path)/\(checkpoint.fileName)")
    }

    /// Every checkpoint file, by size; unreadable ones are reported, not skipped.
    public func checkpoints() throws -> (valid: [Checkpoint], unreadable: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".checkpoint") }
            .sorted()
        var valid: [Checkpoint] = []
        var unreadable: [String] = []
        for name in names {
            if let text = try? String(contentsOfFile: "\(path)/\(name)", encoding: .utf8),
                let checkpoint = Checkpoint(note: text),
                checkpoint.fileName == name
            {
                valid.append(checkpoint)
            } else {
                unreadable.append(name)
            }
        }
        return (valid, unreadable)
    }

    private func write(_ text: String, to name: String) throws {
        do {
            try DurableFile.write(text, to: "\(path)/\(name)")
        } catch {
            throw CheckpointDirectoryError(path: "\(path)/\(name)", reason: error.description)
        }
    }
}

struct CheckpointDirectoryError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "checkpoint \(path): \(reason)" }
}
