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

    static func remove() {
        unlink(path)
    }
}
