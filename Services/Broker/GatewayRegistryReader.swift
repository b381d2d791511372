import Broker
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import ServiceRuntime
import ZeroMQ

/// Keeps a broker's ``GatewayAdmissions`` up to date from the identity service's registry, read
/// through this very broker as its own principal (which identity's `gateway-reader` names).
struct GatewayRegistryReader: Service {
    let broker: BrokerAddress
    let keyPair: CurveKeyPair
    let admissions: GatewayAdmissions
    let interval: Duration
    let logger: Logger

    /// The address a broker reaches itself at: the endpoint it bound, a wildcard host made local.
    static func ownAddress(bound endpoint: String, publicKey: CurveKey) -> BrokerAddress {
        var local = endpoint
        for wildcard in ["//*:", "//0.0.0.0:"] {
            local = local.replacingOccurrences(of: wildcard, with: "//127.0.0.1:")
        }
        return BrokerAddress(endpoint: local, publicKey: publicKey)
    }

    func run() async throws {
        let transport = try BusClientTransport(
            config: BusClientTransport.Config(brokers: [broker], keyPair: keyPair), logger: logger)
        try await withGRPCClient(transport: transport) { client in
            await GatewayRegistryFollower(
                identity: Contactpoint_V1_Identity.Client(wrapping: client), interval: interval, logger: logger
            ).follow { [admissions, logger] gateways in
                let before = admissions.principals
                admissions.update(
                    try gateways.map { (principal: $0.principal, publicKey: try CurveKey(z85: $0.publicKey)) })
                let now = admissions.principals
                for admitted in now.subtracting(before).sorted() {
                    logger.notice("gateway admitted", metadata: ["bus.peer": "\(admitted)"])
                }
                for revoked in before.subtracting(now).sorted() {
                    logger.notice("gateway no longer admitted", metadata: ["bus.peer": "\(revoked)"])
                }
            }
        }
    }
}
