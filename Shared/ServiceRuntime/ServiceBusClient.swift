import Authentication
public import BusTransport
public import GRPCCore
public import Logging

/// The one bus client of a service process: one ZeroMQ context, one client thread and one socket
/// per broker, shared by every stub the process calls through, as one `GRPCClient` serves many
/// stubs. ``ServiceMain`` makes it and hands it to the service's builder; ``BusService`` runs
/// its connections for as long as the process serves and closes them last on shutdown, after the
/// calls in flight and the outbox forwarders have finished.
///
/// A call made while handling a practitioner's call carries their session
/// (``OnBehalfOfCallerInterceptor``), so that the service called authorizes on their rights; a
/// call made outside one goes without.
public typealias ServiceBusClient = GRPCClient<BusClientTransport>

extension ServiceSettings {
    /// The process's bus client, to the brokers and with the key of these settings.
    public func makeBusClient(logger: Logger) throws -> ServiceBusClient {
        let transport = try BusClientTransport(config: .init(brokers: brokers, keyPair: keyPair), logger: logger)
        return GRPCClient(transport: transport, interceptors: [OnBehalfOfCallerInterceptor()])
    }
}
