import DurableFiles
import Foundation
public import SecurityPrimitives

/// A signed tree head as text, in the shape of a C2SP signed note: the body the key signs,
/// a blank line, then one signature line.
///
/// ```
/// contactpoint-audit
/// 1234                      tree size
/// 3q2+7w…=                  root hash, base64
/// 1764115200000             timestamp, Unix ms
///
/// — contactpoint-audit 1a2b3c4d Ed25519-signature-base64
/// ```
/// Exported one file per head (`<size>.checkpoint`) so that the directory can be copied
/// elsewhere as it grows; whoever holds a copy can later prove that the log was not rewritten.
public struct Checkpoint: Sendable, Equatable {
    static let origin = "contactpoint-audit"

    public var size: UInt64
    public var rootHash: [UInt8]
    public var timestampMS: Int64
    public var keyID: String
    public var signature: [UInt8]

    static func body(size: UInt64, rootHash: [UInt8], timestampMS: Int64) -> String {
        "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n\(timestampMS)\n"
    }

    var body: String { Self.body(size: size, rootHash: rootHash, timestampMS: timestampMS) }

    var note: String { "\(body)\n— \(Self.origin) \(keyID) \(Data(signature).base64EncodedString())\n" }

    public var fileName: String { String(format: "%020llu.checkpoint", size) }

    public init(size: UInt64, rootHash: [UInt8], timestampMS: Int64, keyID: String, signature: [UInt8]) {
        self.size = size
        self.rootHash = rootHash
        self.timestampMS = timestampMS
        self.keyID = keyID
        self.signature = signature
    }

    init?(note: String) {
        let parts = note.components(separatedBy: "\n\n")
        guard parts.count == 2 else { return nil }
        let lines = parts[0].split(separator: "\n", omittingEmptySubsequences: false)
        let signatureFields = parts[1].trimmingCharacters(in: .newlines).split(separator: " ")
        guard lines.count == 4, lines[0] == Self.origin, let size = UInt64(lines[1]),
            let root = Data(base64Encoded: String(lines[2])), root.count == 32, let timestamp = Int64(lines[3]),
            signatureFields.count == 4, signatureFields[0] == "—", signatureFields[1] == Self.origin,
            let signature = Data(base64Encoded: String(signatureFields[3]))
        else { return nil }
        self.init(
            size: size, rootHash: Array(root), timestampMS: timestamp, keyID: String(signatureFields[2]),
            signature: Array(signature))
    }

    public func isSigned(by key: Ed25519.PublicKey) -> Bool {
        keyID == Self.keyID(of: key) && key.isValidSignature(signature, for: Array(body.utf8))
    }

    /// A short name for a key: the first 4 bytes of the SHA-256 of its raw form, in hex.
    static func keyID(of key: Ed25519.PublicKey) -> String {
        Array(SHA256.hash(key.rawRepresentation).prefix(4)).hexString
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

    /// The file verifiers read the public key from: hex of the raw key, a newline.
    static let publicKeyFileName = "audit-signing-key.pub"

    static func readPublicKey(path: String) throws -> Ed25519.PublicKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let bytes = [UInt8](hex: text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw CheckpointDirectoryError(path: path, reason: "not a hex Ed25519 public key") }
        return try Ed25519.PublicKey(rawRepresentation: bytes)
    }
}

/// Where checkpoints are exported: files written whole and durably (see `DurableFile`).
public struct CheckpointDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    func prepare(publicKey: Ed25519.PublicKey) throws {
        try DurableFile.createDirectory(path, mode: 0o755)
        try write(publicKey.rawRepresentation.hexString + "\n", to: TreeHeadKey.publicKeyFileName)
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
