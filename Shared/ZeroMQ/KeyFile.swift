import DurableFiles
import Foundation

/// Reads and writes CURVE keys as small text files.
///
/// A secret key file holds both keys and is created with mode 0600:
/// ```
/// # ContactPoint CURVE key pair: broker-1
/// public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
/// secret-key = JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6
/// ```
/// A public key file holds the `public-key` line only and may be shared.
public enum KeyFile {
    public static func readKeyPair(at path: String) throws(CurveKeyError) -> CurveKeyPair {
        let fields = try readFields(at: path)
        guard let secret = fields["secret-key"] else {
            throw .unreadableFile(path: path, reason: "no secret-key line")
        }
        let pair = try CurveKeyPair(secretKey: CurveKey(z85: secret))
        if let stated = fields["public-key"], stated != pair.publicKey.z85 {
            throw .unreadableFile(path: path, reason: "public-key does not belong to secret-key")
        }
        return pair
    }

    public static func readPublicKey(at path: String) throws(CurveKeyError) -> CurveKey {
        guard let text = try readFields(at: path)["public-key"] else {
            throw .unreadableFile(path: path, reason: "no public-key line")
        }
        return try CurveKey(z85: text)
    }

    /// Writes `name.key` (secret, mode 0600) and `name.pub` into `directory`, each whole and
    /// durably (see `DurableFile`); never overwrites.
    public static func write(_ pair: CurveKeyPair, name: String, into directory: String) throws(CurveKeyError) {
        let header = "# ContactPoint CURVE key pair: \(name)\n"
        try create(
            "\(directory)/\(name).key", mode: 0o600,
            contents: header + "public-key = \(pair.publicKey.z85)\nsecret-key = \(pair.secretKey.z85)\n")
        try writePublicKey(of: pair, name: name, into: directory)
    }

    /// Writes `name.pub` for `pair` into `directory` (whole and durably); never overwrites.
    public static func writePublicKey(of pair: CurveKeyPair, name: String, into directory: String) throws(CurveKeyError)
    {
        try create(
            "\(directory)/\(name).pub", mode: 0o644,
            contents: "# ContactPoint CURVE public key: \(name)\npublic-key = \(pair.publicKey.z85)\n")
    }

    private static func create(_ path: String, mode: mode_t, contents: String) throws(CurveKeyError) {
        let created: Bool
        do {
            created = try DurableFile.create(Array(contents.utf8), at: path, mode: mode)
        } catch {
            throw .unreadableFile(path: path, reason: error.description)
        }
        guard created else { throw .unreadableFile(path: path, reason: "it exists already") }
    }

    private static func readFields(at path: String) throws(CurveKeyError) -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .unreadableFile(path: path, reason: "expected `name = value`")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            fields[key] = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
