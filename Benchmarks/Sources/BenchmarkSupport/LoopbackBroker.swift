public import Broker
public import BusProtocol
public import BusTransport
public import Logging
public import ZeroMQ

/// A broker on loopback TCP with CURVE, in this process, for a benchmark: one server principal
/// that may serve every service and two client principals (`client` and `client`-other), each
/// with a fresh key pair.
public struct LoopbackBroker: Sendable {
    public let broker: Broker
    public let address: BrokerAddress
    public let serverKeys: CurveKeyPair
    public let clientKeys: CurveKeyPair
    public let otherClientKeys: CurveKeyPair

    public static func start(
        server: String, client: String, routing: BrokerCore.Config = .init(), logger: Logger
    ) async throws -> LoopbackBroker {
        let brokerKeys = try CurveKeyPair.generate()
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        let otherClientKeys = try CurveKeyPair.generate()
        var config = Broker.Config(
            keyPair: brokerKeys,
            allowList: try AllowList([
                .init(principal: server, publicKey: serverKeys.publicKey, services: ["*"]),
                .init(principal: client, publicKey: clientKeys.publicKey),
                .init(principal: "\(client)-other", publicKey: otherClientKeys.publicKey),
            ]))
        config.endpoint = "tcp://127.0.0.1:*"
        config.routing = routing
        let broker = Broker(config: config, logger: logger)
        let address = BrokerAddress(endpoint: try await broker.start().requests, publicKey: brokerKeys.publicKey)
        return LoopbackBroker(
            broker: broker, address: address, serverKeys: serverKeys, clientKeys: clientKeys,
            otherClientKeys: otherClientKeys)
    }
}
