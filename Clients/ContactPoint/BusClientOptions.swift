import ArgumentParser
import BusTransport
import Foundation
import GRPCCore
import ServiceRuntime
import Supervisor
import ZeroMQ

/// How the command-line client reaches the bus: the brokers and key given as flags or
/// CONTACTPOINT_BROKER / CONTACTPOINT_KEY_FILE, or else those of the stack `contactpoint up`
/// runs in the data directory (its brokers, and the operator's key).
struct BusClientOptions: ParsableArguments {
    @Option(name: .customLong("broker"), help: "A broker as ENDPOINT,PUBLIC-KEY-FILE; repeat for each broker.")
    var brokers: [String] = []

    @Option(help: "This client's CURVE key pair file (default: the local stack's operator key).")
    var keyFile: String?

    @Option(
        help: "The data directory of the local stack (default: $CONTACTPOINT_DATA_DIR or ~/.local/share/contactpoint).")
    var dataDir: String?

    var directory: StackDirectory { Self.stackDirectory(dataDir) }

    static func stackDirectory(_ dataDir: String?) -> StackDirectory {
        StackDirectory(root: dataDir ?? StackDirectory.defaultRoot())
    }

    /// The brokers and key pair to use, or a configuration error saying what to give.
    func connection() throws(ConfigurationError) -> (brokers: [BrokerAddress], keyPair: CurveKeyPair) {
        var reader = try ConfigurationReader(executable: "contactpoint", file: nil)
        var brokers = try reader.list("broker", flags: self.brokers, parse: ConfigurationValue.broker)
        var keyFile = try reader.optionalValue("key-file", flag: keyFile, parse: ConfigurationValue.text)
        if brokers.isEmpty {
            guard let stack = try? StackState.read(from: directory.stateFile) else {
                throw ConfigurationError(
                    key: "broker", source: "configuration",
                    problem: "no broker is given and no stack is running in \(directory.root)",
                    fix: "start one with `contactpoint up`, or pass --broker ENDPOINT,PUBLIC-KEY-FILE and --key-file")
            }
            for broker in stack.brokers {
                brokers.append(
                    try ConfigurationValue.parsing(
                        "broker", "\(broker.endpoint),\(broker.publicKeyFile)", ConfigurationValue.broker))
            }
            keyFile = keyFile ?? directory.keyFile(principal: StackDirectory.operatorPrincipal)
        }
        guard let keyFile else {
            throw ConfigurationError(
                key: "key-file", source: "configuration", problem: "no key file is given",
                fix: "pass --key-file with this client's .key file")
        }
        return (brokers, try ConfigurationValue.parsing("key-file", keyFile, ConfigurationValue.keyPair))
    }

    /// Where the session with this stack is kept (``SessionFile``): the data directory's without
    /// brokers given, so known without a running stack (`logout` after `down`).
    var sessionFile: SessionFile {
        withConfiguration { () throws(ConfigurationError) in
            var reader = try ConfigurationReader(executable: "contactpoint", file: nil)
            let givenBrokers = try reader.list("broker", flags: brokers, parse: ConfigurationValue.broker)
            return givenBrokers.isEmpty ? SessionFile(stack: directory) : SessionFile(brokers: givenBrokers)
        }
    }

    /// The stored session with this stack, as call metadata.
    func sessionMetadata() throws -> Metadata {
        ["authorization": "Bearer \(try sessionFile.load())"]
    }
}

/// Runs `body`, turning a configuration error into one line on standard error and exit status 78.
func withConfiguration<T>(_ body: () throws(ConfigurationError) -> T) -> T {
    do {
        return try body()
    } catch {
        ServiceMain.exitOnConfigurationError(error, executable: "contactpoint")
    }
}
