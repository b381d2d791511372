import Broker
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import ZeroMQ

/// Keeps a broker's ``GatewayAdmissions`` up to date: asks the identity service for the gateways
/// in force every `interval`, through this very broker, as its own principal (which identity's
/// `gateway-reader` setting names). While identity cannot be asked, the last answer stands:
/// gateways are not shut out because identity restarts, and a revocation lands at the first
/// answer after it.
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
        var config = BusClientTransport.Config(brokers: [broker], keyPair: keyPair)
        config.connectionHeartbeat = (1000, 3000)
        let transport = try BusClientTransport(config: config, logger: logger)
        try await withGRPCClient(transport: transport) { client in
            let identity = Contactpoint_V1_Identity.Client(wrapping: client)
            var lastProblem: String?
            while !Task.isShuttingDownGracefully {
                do {
                    var options = CallOptions.defaults
                    options.timeout = .seconds(2)
                    let answer = try await identity.gateways(.init(), options: options)
                    admissions.update(
                        try answer.gateways.map {
                            (principal: $0.principal, publicKey: try CurveKey(z85: $0.publicKey))
                        })
                    if lastProblem != nil {
                        logger.notice("gateway registry read again", metadata: ["bus.gateways": "\(admissions.count)"])
                    }
                    lastProblem = nil
                } catch {
                    // Said once per kind of problem: identity starts after the brokers.
                    let problem = "\(error)"
                    if problem != lastProblem {
                        logger.info(
                            "gateway registry not read; the last reading stands", metadata: ["bus.reason": "\(problem)"]
                        )
                    }
                    lastProblem = problem
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        }
    }
}
