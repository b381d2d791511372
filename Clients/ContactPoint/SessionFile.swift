import BusTransport
import DurableFiles
import Foundation
import GRPCCore
import Supervisor

/// Where `contactpoint login` keeps a stack's session token, mode 0600 in a 0700 directory: a
/// session belongs to the stack it was granted by, so two stacks never share one.
///
/// - The local stack (no brokers given): `DATA-DIR/session`, beside the stack's keys.
/// - Brokers given (`--broker`, CONTACTPOINT_BROKER): `$XDG_CONFIG_HOME/contactpoint/sessions/KEY`
///   (else under `~/.config`), KEY being the lowest of the brokers' public keys in hex. Every
///   broker of a stack reaches the same services, so any one of them names the stack.
struct SessionFile {
    let path: String

    /// The local stack's session.
    init(stack: StackDirectory) { path = "\(stack.root)/session" }

    /// The session of the stack these brokers belong to.
    init(brokers: [BrokerAddress], environment: [String: String] = ProcessInfo.processInfo.environment) {
        let configHome =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(NSHomeDirectory())/.config"
        let key = brokers.map { $0.publicKey.bytes.map { String(format: "%02x", $0) }.joined() }.min() ?? "none"
        path = "\(configHome)/contactpoint/sessions/\(key)"
    }

    func save(_ token: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try DurableFile.createDirectory(directory, mode: 0o700)
            try DurableFile.write(token, to: path, mode: 0o600)
        } catch {
            throw CLIError("cannot save the session: \(error)")
        }
    }

    func load() throws -> String {
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

    func remove() {
        unlink(path)
    }
}
