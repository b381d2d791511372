public import ZeroMQ

/// Where a broker listens and the CURVE public key it proves itself with.
public struct BrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var endpoint: String
    public var publicKey: CurveKey

    public init(endpoint: String, publicKey: CurveKey) {
        self.endpoint = endpoint
        self.publicKey = publicKey
    }

    public var description: String { endpoint }
}
