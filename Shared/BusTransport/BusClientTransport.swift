import BusProtocol
import ContactPointAPI
public import GRPCCore
public import Logging
import Synchronization
public import ZeroMQ

/// A GRPCCore `ClientTransport` that carries calls over the ContactPoint bus.
///
/// It connects a CURVE-secured DEALER socket to every configured broker and spreads calls
/// across the brokers that are up. Each call is one MDP REQUEST; replies are matched to calls
/// by the call id in the `ReplyHeader`. When a broker's connection drops, or the broker refuses
/// this process's key, the calls sent through it fail at once (UNAVAILABLE, UNAUTHENTICATED) and
/// GRPCCore's retry policy — set per method in ``Config/serviceConfig`` — may retry them with
/// jittered backoff within the deadline; the next attempt goes through another broker.
///
/// Unary and server-streaming calls are supported; a client-streaming call fails UNIMPLEMENTED.
public final class BusClientTransport: ClientTransport {
    public typealias Bytes = [UInt8]

    public struct Config: Sendable {
        public var brokers: [BrokerAddress]
        public var keyPair: CurveKeyPair
        /// Retry policies, timeouts and throttling per method, as in gRPC service config.
        public var serviceConfig = ServiceConfig()
        /// ZMTP heartbeat on each broker connection, in milliseconds: a broker that stops
        /// answering pings for `timeout` is treated as down.
        public var connectionHeartbeat: (interval: Int32, timeout: Int32) = (1000, 3000)
        /// The bus service name to send a gRPC service's calls to, where it is not the gRPC name:
        /// `["grpc.health.v1.Health": BusServerTransport.healthServiceName(of: "echo")]` checks
        /// the health of echo processes rather than of whichever process answers first.
        public var routes: [String: String] = [:]

        public init(brokers: [BrokerAddress], keyPair: CurveKeyPair) {
            self.brokers = brokers
            self.keyPair = keyPair
        }

        /// Retries UNAVAILABLE up to `attempts` times with jittered exponential backoff for the
        /// named services' methods — for idempotent services only.
        public mutating func retryUnavailable(services: [String], attempts: Int = 4) {
            retryUnavailable(names: services.map { MethodConfig.Name(service: $0) }, attempts: attempts)
        }

        /// Retries UNAVAILABLE as ``retryUnavailable(services:attempts:)`` does, for the named
        /// methods only: the idempotent ones of a service that also has others.
        public mutating func retryUnavailable(methods: [MethodDescriptor], attempts: Int = 4) {
            retryUnavailable(
                names: methods.map { MethodConfig.Name(service: $0.service.fullyQualifiedService, method: $0.method) },
                attempts: attempts)
        }

        private mutating func retryUnavailable(names: [MethodConfig.Name], attempts: Int) {
            let policy = RetryPolicy(
                maxAttempts: attempts, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(500),
                backoffMultiplier: 2, retryableStatusCodes: [.unavailable])
            serviceConfig.methodConfig.append(MethodConfig(names: names, executionPolicy: .retry(policy)))
        }
    }

    enum Command: Sendable {
        case send(callID: UInt64, broker: Int, frames: [[UInt8]])
        case stop
    }

    public let retryThrottle: RetryThrottle?
    let config: Config
    let calls = PendingCalls()
    let brokers: BrokerSelector
    let mailbox: Mailbox<Command>
    private let logger: Logger
    private let methodConfigs: MethodConfigLookup
    private let nextCallID = Atomic<UInt64>(1)
    private let isShutDown = Atomic<Bool>(false)

    public init(config: Config, logger: Logger = Logger(label: "contactpoint.bus.client")) throws {
        precondition(!config.brokers.isEmpty, "a bus client needs at least one broker")
        self.config = config
        self.logger = logger
        self.retryThrottle = config.serviceConfig.retryThrottling.map { RetryThrottle(policy: $0) }
        self.methodConfigs = MethodConfigLookup(config.serviceConfig)
        self.brokers = BrokerSelector(count: config.brokers.count)
        self.mailbox = try Mailbox()
    }

    /// Connects to the brokers and serves calls until ``beginGracefulShutdown()`` — or the
    /// cancellation of the calling task, which `withGRPCClient` uses when its body throws — and
    /// the last call in flight has finished.
    public func connect() async throws {
        let thread = try await SocketThread.start(name: "bus-client") { [self] started in
            do {
                let loop = try ClientLoop(transport: self)
                started.started()
                loop.run()
            } catch {
                started.failed(error)
            }
        }
        await withTaskCancellationHandler {
            await thread.join()
        } onCancel: {
            beginGracefulShutdown()
        }
    }

    public func beginGracefulShutdown() {
        isShutDown.store(true, ordering: .relaxed)
        mailbox.send(.stop)
    }

    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? {
        methodConfigs[descriptor]
    }

    public func withStream<T: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
    ) async throws -> T {
        guard !isShutDown.load(ordering: .relaxed) else {
            throw RPCError(code: .unavailable, message: "the bus client is shutting down")
        }
        let callID = nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (responses, continuation) = AsyncThrowingStream.makeStream(of: RPCResponsePart<Bytes>.self)
        let writer = RequestWriter(callID: callID, descriptor: descriptor, responses: continuation, transport: self)
        let stream = RPCStream(
            descriptor: descriptor,
            inbound: RPCAsyncSequence(wrapping: responses),
            outbound: RPCWriter.Closable(wrapping: writer))
        let context = ClientContext(descriptor: descriptor, remotePeer: "bus", localPeer: "bus")
        defer { calls.remove(callID) }
        return try await closure(stream, context)
    }

    /// Sends a complete request through the best broker; called by the call's `RequestWriter`.
    func send(callID: UInt64, service: String, body: [[UInt8]], responses: ResponseSink) {
        guard !isShutDown.load(ordering: .relaxed) else {
            responses.fail(RPCError(code: .unavailable, message: "the bus client is shutting down"))
            return
        }
        let broker: Int
        switch brokers.choose() {
        case .success(let chosen): broker = chosen
        case .failure(let error):
            responses.fail(error)
            return
        }
        calls.insert(callID, PendingCalls.Entry(sink: responses, broker: broker))
        let frames = Majordomo.ClientCommand.request(service: config.routes[service] ?? service, body: body).frames
        if !mailbox.send(.send(callID: callID, broker: broker, frames: frames)) {
            calls.remove(callID)
            responses.fail(RPCError(code: .unavailable, message: "the bus client has stopped"))
        }
    }
}
