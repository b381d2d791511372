import DurableFiles
import Foundation
import GRPCCore

/// Where `contactpoint login` keeps the session token: `$XDG_CONFIG_HOME/contactpoint/session`
/// (else `~/.config/contactpoint/session`), mode 0600 in a 0700 directory.
enum SessionFile {
    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        let configHome =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(NSHomeDirectory())/.config"
        return "\(configHome)/contactpoint/session"
    }

    static func save(_ token: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try DurableFile.createDirectory(directory, mode: 0o700)
            try DurableFile.write(token, to: path, mode: 0o600)
        } catch {
            throw CLIError("cannot save the session: \(error)")
        }
    }

    static func load() throws -> String {
        guard let token = try? String(contentsOfFile: path, encoding: .utf8), !token.isEmpty else {
            throw CLIError("not logged in: run `contactpoint login --email YOUR-EMAIL`")
        }
        return token.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// When the token was issued and when it expires (Unix seconds), read from its payload without
    /// verifying it: only to decide when to refresh. `nil` if it is not a token of that shape.
    static func lifetime(of token: String) -> (issuedAt: Int64, expiresAt: Int64)? {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var payload = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        struct Times: Decodable {
            var iat: Int64
            var exp: Int64
        }
        guard let data = Data(base64Encoded: payload), let times = try? JSONDecoder().decode(Times.self, from: data)
        else { return nil }
        return (times.iat, times.exp)
    }

    static func remove() {
        unlink(path)
    }
}
