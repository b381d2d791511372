import DurableFiles
import Foundation

/// A 32-byte secret kept as a hex file (mode 0600): a pepper, a sealing key, a signing key.
public enum SecretFile {
    /// The secret in `path`, written from the CSPRNG first (whole and durably, see `DurableFile`)
    /// if the file does not exist. Creation is exclusive, so processes starting together agree on
    /// one secret.
    public static func readOrCreate(_ path: String) throws(SecretFileError) -> [UInt8] {
        do {
            try DurableFile.create(Array((SecureRandom.bytes(32).hexString + "\n").utf8), at: path, mode: 0o600)
        } catch {
            throw SecretFileError(path: path, reason: error.description)
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let bytes = [UInt8](hex: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
        else { throw SecretFileError(path: path, reason: "not 32 bytes of hex") }
        return bytes
    }
}

public struct SecretFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "secret \(path): \(reason)" }
}
