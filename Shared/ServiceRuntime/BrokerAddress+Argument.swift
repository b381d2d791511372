public import BusTransport
import ZeroMQ

extension BrokerAddress {
    /// Parses the command-line form `ENDPOINT,PUBLIC-KEY-FILE`, e.g.
    /// `tcp://10.0.0.5:5555,/etc/contactpoint/keys/broker-1.pub`.
    public init(argument: String) throws {
        guard let comma = argument.lastIndex(of: ",") else {
            throw BrokerArgumentError(argument: argument)
        }
        let endpoint = String(argument[..<comma])
        let keyFile = String(argument[argument.index(after: comma)...])
        guard !endpoint.isEmpty, !keyFile.isEmpty else { throw BrokerArgumentError(argument: argument) }
        self.init(endpoint: endpoint, publicKey: try KeyFile.readPublicKey(at: keyFile))
    }
}

public struct BrokerArgumentError: Error, CustomStringConvertible {
    public var argument: String
    public var description: String { "expected ENDPOINT,PUBLIC-KEY-FILE for a broker, got \(argument)" }
}
