import BusTransport
import ContactPointAPI
public import GRPCCore
public import Logging
public import Prometheus
public import ServiceLifecycle

/// A service executable's parts, as its `@main` builds them: the RPC services it serves, and
/// the checks of what it depends on (its database, say) that decide whether it is SERVING.
public struct BusService: Sendable {
    public var rpcServices: [any RegistrableRPCService]
    /// Each returns whether a dependency is usable; any `false` makes the process NOT_SERVING
    /// until all are `true` again.
    public var readinessChecks: [@Sendable () async -> Bool]
    /// More lifecycle services to run beside the server (outbox forwarders, say).
    public var companions: [any Service]
    /// Run on every call before its handler, in order (authentication, say); after the metrics one.
    public var interceptors: [any ServerInterceptor]

    public init(
        rpcServices: [any RegistrableRPCService], interceptors: [any ServerInterceptor] = [],
        readinessChecks: [@Sendable () async -> Bool] = [], companions: [any Service] = []
    ) {
        self.rpcServices = rpcServices
        self.interceptors = interceptors
        self.readinessChecks = readinessChecks
        self.companions = companions
    }

    /// The group that runs `self` on the bus until SIGTERM or SIGINT, then drains: the health
    /// service turns NOT_SERVING, the transport takes no new calls, calls in flight get up to
    /// `settings.gracePeriod` to finish, and the process exits.
    ///
    /// `health` is served alongside and kept current; `metricsRegistry`, when given, receives
    /// the per-call metrics (`settings.metrics` says where they are served). `client`, the
    /// process's calls to other services, connects first and closes last: the group shuts its
    /// services down in reverse order, so calls in flight and the forwarders' last deliveries
    /// still reach their services while the process drains.
    public func serviceGroup(
        settings: ServiceSettings, client: ServiceBusClient? = nil, health: HealthService,
        metricsRegistry: PrometheusCollectorRegistry? = nil, logger: Logger
    ) throws -> ServiceGroup {
        var transportConfig = BusServerTransport.Config(brokers: settings.brokers, keyPair: settings.keyPair)
        transportConfig.sessionsPerBroker = settings.sessionsPerBroker
        transportConfig.heartbeatInterval = settings.heartbeatInterval
        transportConfig.instanceName = settings.instance
        transportConfig.shutdownGracePeriod = settings.gracePeriod
        transportConfig.healthScope = settings.service
        var router = RPCRouter<BusServerTransport>()
        for service in rpcServices + [health] { service.registerMethods(with: &router) }
        var pipeline: [ConditionalInterceptor<any ServerInterceptor>] = []
        if let metricsRegistry {
            pipeline.append(
                .apply(RPCMetricsInterceptor(factory: PrometheusMetricsFactory(registry: metricsRegistry)), to: .all))
        }
        // The service's own interceptors (authentication, say) leave health alone: probes have no session.
        let ownServices = Set(router.methods.map(\.service)).subtracting([Grpc_Health_V1_Health.descriptor])
        pipeline += interceptors.map { .apply($0, to: .services(ownServices)) }
        router.registerInterceptors(pipeline: pipeline)
        for serviceName in Set(router.methods.map(\.service.fullyQualifiedService)) {
            health.setStatus(.serving, forService: serviceName)
        }
        health.setStatus(.serving)
        let server = GRPCServer(
            transport: try BusServerTransport(config: transportConfig, logger: logger), router: router)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let client { services.append(.init(service: ClientConnections(client: client))) }
        if let watch = SupervisorWatch() {
            services.append(.init(service: watch, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if let metricsRegistry, let metrics = settings.metrics {
            let endpoint = try MetricsEndpoint(host: metrics.host, port: metrics.port, registry: metricsRegistry)
            logger.notice(
                "serving metrics", metadata: ["metrics.endpoint": "http://\(metrics.host):\(endpoint.port)/metrics"])
            services.append(.init(service: endpoint))
        }
        if !readinessChecks.isEmpty {
            services.append(.init(service: ReadinessMonitor(checks: readinessChecks, health: health, logger: logger)))
        }
        services += companions.map { .init(service: $0) }
        services.append(.init(service: DrainingServer(server: server, health: health)))

        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // The transport cancels what is left at the grace period; this is the backstop.
        configuration.maximumGracefulShutdownDuration = settings.gracePeriod + .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}

/// Runs a `GRPCServer` until graceful shutdown, then reports NOT_SERVING and lets the calls in
/// flight finish while taking no new ones.
struct DrainingServer<Transport: ServerTransport>: Service {
    let server: GRPCServer<Transport>
    let health: HealthService

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            health.setStatusOfAll(.notServing)
            server.beginGracefulShutdown()
        }
    }
}

/// Runs the readiness checks every few seconds and sets the health status from them.
struct ReadinessMonitor: Service {
    let checks: [@Sendable () async -> Bool]
    let health: HealthService
    let logger: Logger
    var interval: Duration = .seconds(2)

    func run() async throws {
        var wasReady = true
        while !Task.isShuttingDownGracefully {
            var ready = true
            for check in checks where !(await check()) { ready = false }
            if ready != wasReady {
                health.setStatusOfAll(ready ? .serving : .notServing)
                if ready {
                    logger.notice("dependencies available again: SERVING")
                } else {
                    logger.error("a dependency is unavailable: NOT_SERVING")
                }
                wasReady = ready
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
