import DurableFiles
import Foundation
import SecurityPrimitives

/// The identity service's secrets, kept as files outside the database (mode 0600 in a 0700
/// directory), so that a copy of `identity.sqlite` alone is useless to an attacker:
///
/// ```
/// pepper            32 random bytes (hex): keys every password hash
/// totp-key          32 random bytes (hex): seals TOTP secrets in the database (AES-256-GCM)
/// signing/KID.key   Ed25519 private keys (hex) that sign session tokens; the newest name signs,
///                   all of them are published for verification
/// ```
///
/// Missing files are created on first start, under an exclusive lock so that instances starting
/// together agree. Rotation: add a new `signing/KID.key` with a later name and restart the
/// instances; delete the old one once tokens it signed have expired (12 hours).
struct IdentitySecrets: Sendable {
    var pepper: [UInt8]
    var totpKey: [UInt8]
    var signingKeys: SigningKeys

    static func load(directory: String) throws -> IdentitySecrets {
        let manager = FileManager.default
        try DurableFile.createDirectory("\(directory)/signing", mode: 0o700)
        let lock = open("\(directory)/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw IdentitySecretsError(path: directory, reason: String(cString: strerror(errno))) }
        defer { close(lock) }
        flock(lock, LOCK_EX)

        let pepper = try SecretFile.readOrCreate("\(directory)/pepper")
        let totpKey = try SecretFile.readOrCreate("\(directory)/totp-key")
        var names = try manager.contentsOfDirectory(atPath: "\(directory)/signing").filter { $0.hasSuffix(".key") }
            .sorted()
        if names.isEmpty {
            let id = Self.newKeyID()
            _ = try SecretFile.readOrCreate("\(directory)/signing/\(id).key")
            names = ["\(id).key"]
        }
        var published: [String: Ed25519.PublicKey] = [:]
        var newest: (String, Ed25519.PrivateKey)?
        for name in names {
            let id = String(name.dropLast(".key".count))
            let key = try Ed25519.PrivateKey(
                rawRepresentation: try SecretFile.readOrCreate("\(directory)/signing/\(name)"))
            published[id] = key.publicKey
            newest = (id, key)
        }
        let (currentID, current) = newest!
        return IdentitySecrets(
            pepper: pepper, totpKey: totpKey,
            signingKeys: SigningKeys(currentID: currentID, current: current, published: published))
    }

    /// A sortable key id: the UTC date and time it was made, and random bits.
    static func newKeyID() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "\(formatter.string(from: Date()))-\(SecureRandom.bytes(3).hexString)"
    }
}

struct IdentitySecretsError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "identity secret \(path): \(reason)" }
}
