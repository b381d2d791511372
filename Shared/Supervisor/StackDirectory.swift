import Broker
import DurableFiles
import Foundation
import ZeroMQ

/// The data directory of a stack run by `contactpoint up`:
///
/// ```
/// keys/             one CURVE key pair per principal (brokers, services, the operator), 0700
/// allow-list        which principal may connect and what it may serve (rewritten on start)
/// allow-list.local  the operator's own lines (gateways, other clients), added to it on start
/// config/           one configuration file per process (rewritten on start)
/// data/SERVICE/     each service's database files (kept)
/// stack.json        what is running now (StackState)
/// ```
public struct StackDirectory: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// `$CONTACTPOINT_DATA_DIR`, else `$XDG_DATA_HOME/contactpoint`, else `~/.local/share/contactpoint`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["CONTACTPOINT_DATA_DIR"], !explicit.isEmpty { return explicit }
        let dataHome =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(NSHomeDirectory())/.local/share"
        return "\(dataHome)/contactpoint"
    }

    public var keysDirectory: String { "\(root)/keys" }
    public var allowListFile: String { "\(root)/allow-list" }
    /// Lines an operator keeps for principals of their own (an agency's gateway, a client written
    /// in another language), in the allow-list's format; `up` adds them at every start.
    public var localAllowListFile: String { "\(root)/allow-list.local" }
    public var stateFile: String { "\(root)/stack.json" }
    public func configFile(process: String) -> String { "\(root)/config/\(process).conf" }
    public func dataDirectory(service: String) -> String { "\(root)/data/\(service)" }
    public func keyFile(principal: String) -> String { "\(keysDirectory)/\(principal).key" }
    public func publicKeyFile(principal: String) -> String { "\(keysDirectory)/\(principal).pub" }

    /// The principal of the local operator's command-line client.
    public static let operatorPrincipal = "operator"

    /// Creates what is missing: the directories (mode 0700) and a key pair for every principal.
    /// Returns whether this was the first run (no keys existed).
    @discardableResult
    public func prepare(brokers: [String], services: [StackService]) throws -> Bool {
        let manager = FileManager.default
        let firstRun = !manager.fileExists(atPath: keysDirectory)
        for directory in [root, keysDirectory, "\(root)/config", "\(root)/data"]
            + services.map({ dataDirectory(service: $0.name) })
        {
            try DurableFile.createDirectory(directory, mode: 0o700)
        }
        for principal in brokers + services.map(\.name) + [Self.operatorPrincipal] {
            let secret = keyFile(principal: principal)
            let published = publicKeyFile(principal: principal)
            if manager.fileExists(atPath: secret) {
                // A start cut short between the two files: the public key is derived again.
                if !manager.fileExists(atPath: published) {
                    try KeyFile.writePublicKey(
                        of: try KeyFile.readKeyPair(at: secret), name: principal, into: keysDirectory)
                }
            } else {
                // A public key without its secret belongs to no one: both are made anew.
                try? manager.removeItem(atPath: published)
                try KeyFile.write(try CurveKeyPair.generate(), name: principal, into: keysDirectory)
            }
        }
        return firstRun
    }

    /// Writes the allow-list: every service may serve its own RPC services and its scoped health
    /// service; the operator, the front ends (the portal) and the brokers (which read the gateway
    /// registry through themselves) may only call; then the lines of ``localAllowListFile``, if there is one, which
    /// may not reuse a name or a key of the stack's own.
    public func writeAllowList(services: [StackService], brokers: [String] = []) throws {
        var lines = ["# written by contactpoint up on every start: principal  public-key  services it may serve"]
        for service in services where !service.rpcServices.isEmpty {
            let key = try KeyFile.readPublicKey(at: publicKeyFile(principal: service.name))
            let served = service.rpcServices + ["grpc.health.v1.Health", "grpc.health.v1.Health/\(service.name)"]
            lines.append("\(service.name) \(key.z85) \(served.joined(separator: ","))")
        }
        let frontEnds = services.filter(\.rpcServices.isEmpty).map(\.name)
        for caller in brokers + frontEnds + [Self.operatorPrincipal] {
            lines.append("\(caller) \(try KeyFile.readPublicKey(at: publicKeyFile(principal: caller)).z85)")
        }
        if let local = try localAllowList() {
            let ownNames = Set(services.map(\.name) + brokers + [Self.operatorPrincipal])
            if let taken = local.principals.intersection(ownNames).sorted().first {
                throw LocalAllowListError(
                    path: localAllowListFile, reason: "\(taken) is a principal of the stack's own")
            }
            lines += ["# from \(localAllowListFile)", local.text]
            do {
                _ = try AllowList(parsing: lines.joined(separator: "\n"))
            } catch {
                throw LocalAllowListError(path: localAllowListFile, reason: "\(error)")
            }
        }
        try DurableFile.write(lines.joined(separator: "\n") + "\n", to: allowListFile)
    }

    /// The text of ``localAllowListFile``, checked line by line, and the principals it names;
    /// `nil` if there is none.
    private func localAllowList() throws -> (text: String, principals: Set<String>)? {
        guard FileManager.default.fileExists(atPath: localAllowListFile) else { return nil }
        do {
            let text = try String(contentsOfFile: localAllowListFile, encoding: .utf8)
            return (text, try AllowList(parsing: text).principals)
        } catch {
            throw LocalAllowListError(path: localAllowListFile, reason: "\(error)")
        }
    }

    /// Writes a process's configuration file from `settings` (key, value pairs, in order).
    public func writeConfig(process: String, settings: [(String, String)]) throws -> String {
        let path = configFile(process: process)
        let lines =
            ["# written by contactpoint up on every start; set overrides as CONTACTPOINT_* variables"]
            + settings.map { "\($0.0) = \($0.1)" }
        try DurableFile.write(lines.joined(separator: "\n") + "\n", to: path)
        return path
    }
}

/// `allow-list.local` cannot be used: the line or the clash, and the file.
public struct LocalAllowListError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
