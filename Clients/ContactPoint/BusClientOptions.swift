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

    /// The brokers and key pair to use, and where the session with their stack is kept, or a
    /// configuration error saying what to give.
    func connection() throws(ConfigurationError) -> (
        brokers: [BrokerAddress], keyPair: CurveKeyPair, session: SessionFile
    ) {
        var reader = try ConfigurationReader(executable: "contactpoint", file: nil)
        let givenBrokers = try reader.list("broker", flags: brokers, parse: ConfigurationValue.broker)
        let givenKeyFile = try reader.optionalValue("key-file", flag: keyFile, parse: ConfigurationValue.text)
        if !givenBrokers.isEmpty {
            guard let givenKeyFile else {
                throw ConfigurationError(
                    key: "key-file", source: "configuration", problem: "no key file is given",
                    fix: "pass --key-file with this client's .key file")
            }
            return (
                givenBrokers, try ConfigurationValue.parsing("key-file", givenKeyFile, ConfigurationValue.keyPair),
                SessionFile(brokers: givenBrokers)
            )
        }
        guard let stack = try? StackState.read(from: directory.stateFile) else {
            throw ConfigurationError(
                key: "broker", source: "configuration",
                problem: "no broker is given and no stack is running in \(directory.root)",
                fix: "start one with `contactpoint up`, or pass --broker ENDPOINT,PUBLIC-KEY-FILE and --key-file")
        }
        let stackBrokers = try stack.brokers.map { broker throws(ConfigurationError) in
            try ConfigurationValue.parsing(
                "broker", "\(broker.endpoint),\(broker.publicKeyFile)", ConfigurationValue.broker)
        }
        let keyFile = givenKeyFile ?? directory.keyFile(principal: StackDirectory.operatorPrincipal)
        return (
            stackBrokers, try ConfigurationValue.parsing("key-file", keyFile, ConfigurationValue.keyPair),
            SessionFile(stack: directory)
        )
    }

    /// Where the session with this stack is kept: as ``connection()`` says, but known without a
    /// running stack (`logout` after `down`).
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
