public import ContactPointAPI
public import GRPCCore
public import Logging
public import ServiceLifecycle
import Synchronization

/// The agency gateways in force as this process last read them from the identity service's
/// registry (docs/GATEWAYS.md), by bus principal (`gateway:ORGANISATION-ID:GATEWAY-ID`).
public final class GatewayRoster: Sendable {
    private let byPrincipal = Mutex<[String: Contactpoint_V1_Gateway]>([:])

    public init() {}

    public func update(_ gateways: [Contactpoint_V1_Gateway]) {
        let reading = Dictionary(gateways.map { ($0.principal, $0) }, uniquingKeysWith: { first, _ in first })
        byPrincipal.withLock { $0 = reading }
    }

    /// The gateway in force with this principal, if there is one.
    public func gateway(principal: String) -> Contactpoint_V1_Gateway? { byPrincipal.withLock { $0[principal] } }

    public var count: Int { byPrincipal.withLock { $0.count } }
}

/// Reads the identity service's registry of agency gateways every `interval` and hands each
/// reading on (`Identity/Gateways`, for the principals in identity's `gateway-reader` setting).
/// While identity cannot be asked, the last reading stands: gateways are not shut out because
/// identity restarts, and a revocation lands at the first reading after it. A problem is logged
/// when it starts (identity starts after the brokers) and when it ends.
public struct GatewayRegistryFollower<Transport: ClientTransport>: Sendable {
    public let identity: Contactpoint_V1_Identity.Client<Transport>
    public let interval: Duration
    let logger: Logger

    public init(identity: Contactpoint_V1_Identity.Client<Transport>, interval: Duration, logger: Logger) {
        self.identity = identity
        self.interval = interval
        self.logger = logger
    }

    /// Reads until graceful shutdown; `onReading` gets the gateways in force at each reading.
    public func follow(_ onReading: @Sendable ([Contactpoint_V1_Gateway]) throws -> Void) async {
        var lastProblem: String?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                var options = CallOptions.defaults
                options.timeout = .seconds(2)
                let reading = try await identity.gateways(.init(), options: options).gateways
                try onReading(reading)
                if lastProblem != nil {
                    logger.notice("gateway registry read again", metadata: ["gateways": "\(reading.count)"])
                }
                lastProblem = nil
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    logger.info(
                        "gateway registry not read; the last reading stands", metadata: ["reason": "\(problem)"])
                }
                lastProblem = problem
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension GatewayRoster {
    /// Keeps this roster up to date from the identity service, through the service's bus client.
    public func follower(client: ServiceBusClient, interval: Duration = .seconds(2), logger: Logger) -> some Service {
        Follower(roster: self, client: client, interval: interval, logger: logger)
    }

    private struct Follower: Service {
        let roster: GatewayRoster
        let client: ServiceBusClient
        let interval: Duration
        let logger: Logger

        func run() async throws {
            await GatewayRegistryFollower(
                identity: Contactpoint_V1_Identity.Client(wrapping: client), interval: interval, logger: logger
            ).follow { [roster] in roster.update($0) }
        }
    }
}
