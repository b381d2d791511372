import BusProtocol
import ContactPointAPI
public import GRPCCore
public import Logging
import Synchronization
public import ZeroMQ

/// A GRPCCore `ServerTransport` that serves calls arriving over the ContactPoint bus.
///
/// For every broker, and every gRPC service the server hosts, it opens
/// ``Config/sessionsPerBroker`` MDP worker sessions (one DEALER socket each). A session holds
/// one call at a time, so a process serves up to `brokers × sessionsPerBroker` calls of a
/// service at once. Sessions heartbeat their broker and reconnect on a new socket when it
/// falls silent, as MDP/0.2 prescribes.
///
/// Graceful shutdown tells the brokers this worker is leaving (DISCONNECT) on every idle
/// session at once and on every busy one as soon as its call has finished; calls still running
/// after ``Config/shutdownGracePeriod`` are cancelled. So is a call whose caller's deadline has
/// passed: the transport watches the deadlines itself (see ``ServedCalls``) rather than hand
/// them to GRPCCore, which would start a timer task for every call.
public final class BusServerTransport: ServerTransport {
    public typealias Bytes = [UInt8]

    public struct Config: Sendable {
        public var brokers: [BrokerAddress]
        public var keyPair: CurveKeyPair
        /// Concurrent calls of each service this process accepts through each broker.
        public var sessionsPerBroker = 8
        public var heartbeatInterval: Duration = .milliseconds(1000)
        /// Heartbeat intervals without a word from a broker before reconnecting to it.
        public var heartbeatLiveness = 3
        /// The name this instance reports as the local peer, e.g. "echo-1".
        public var instanceName = "bus-server"
        /// After graceful shutdown begins, how long calls in flight may take to finish before
        /// they are cancelled (a `Watch` stream, say, never finishes by itself).
        public var shutdownGracePeriod: Duration = .seconds(10)
        /// When set, the health service is also served under
        /// ``BusServerTransport/healthServiceName(of:)`` of this name, so that a caller can
        /// check the health of this kind of process in particular.
        public var healthScope: String?

        public init(brokers: [BrokerAddress], keyPair: CurveKeyPair) {
            self.brokers = brokers
            self.keyPair = keyPair
        }
    }

    /// A request a worker session received, on its way to GRPCCore.
    struct IncomingCall: Sendable {
        /// Numbered by the worker loop, which cancels the call by this number at its deadline.
        var id: UInt64
        var session: Int
        var generation: UInt64
        var client: [UInt8]
        var header: Contactpoint_V1_RequestHeader
        var payload: [UInt8]
        /// When the caller stops waiting: `timeout_micros` after the worker received the call.
        var deadline: ContinuousClock.Instant?
        /// The service name the call was sent to (the session's READY): `pkg.Service`, or
        /// `grpc.health.v1.Health/SERVICE` for a process's health.
        var servedUnder: String
    }

    enum Command: Sendable {
        case reply(session: Int, generation: UInt64, frames: [[UInt8]], isFinal: Bool)
        case drain
    }

    let config: Config
    let mailbox: Mailbox<Command>
    let logger: Logger
    private let services = Mutex<[String]>([])
    /// The calls being handled, to stop one at its deadline and all when the grace period after
    /// shutdown runs out.
    let calls = ServedCalls()
    private let shutdownBegan: AsyncStream<Void>
    private let shutdownBeganContinuation: AsyncStream<Void>.Continuation
    /// Paths ("/pkg.Service/Method") of the methods that answer with a single message.
    private let unaryMethods = Mutex<Set<String>>([])

    public init(config: Config, logger: Logger = Logger(label: "contactpoint.bus.server")) throws {
        precondition(!config.brokers.isEmpty, "a bus server needs at least one broker")
        self.config = config
        self.logger = logger
        self.mailbox = try Mailbox()
        (shutdownBegan, shutdownBeganContinuation) = AsyncStream.makeStream()
    }

    /// The bus service name of the health service of processes whose ``Config/healthScope`` is `scope`.
    public static func healthServiceName(of scope: String) -> String {
        "\(healthService)/\(scope)"
    }

    private static let healthService = "grpc.health.v1.Health"

    public func configure(context: GRPCServerContext) {
        var names = Set(context.methods.map(\.service.fullyQualifiedService))
        if let scope = config.healthScope, names.contains(Self.healthService) {
            names.insert(Self.healthServiceName(of: scope))
        }
        services.withLock { $0 = names.sorted() }
        let unary = context.methods.filter { $0.type.map { !$0.isResponseStreaming } ?? false }
        unaryMethods.withLock { $0 = Set(unary.map { "/\($0.fullyQualifiedMethod)" }) }
    }

    public func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        let (incoming, continuation) = AsyncStream.makeStream(of: IncomingCall.self)
        let serviceNames = services.withLock { $0 }
        let thread = try await SocketThread.start(name: "bus-server") { [self] started in
            do {
                let loop = try WorkerLoop(transport: self, services: serviceNames, incoming: continuation)
                started.started()
                loop.run()
            } catch {
                continuation.finish()
                started.failed(error)
            }
        }
        logger.info(
            "serving over the bus",
            metadata: [
                "bus.services": "\(serviceNames.joined(separator: ","))", "bus.brokers": "\(config.brokers.count)",
            ])
        // Cancelled rather than shut down gracefully: the calls are cancelled with the task, and
        // the sessions leave the brokers as their calls end.
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.cancelCallsAfterGracePeriod() }
                for await call in incoming {
                    calls.start(call.id) { await self.handle(call, with: streamHandler) }
                }
                // Every session has closed, so every call has sent its final reply.
                group.cancelAll()
            }
            await calls.waitForAll()
            await thread.join()
        } onCancel: {
            beginGracefulShutdown()
            calls.cancelAll(andLater: true)
        }
    }

    public func beginGracefulShutdown() {
        mailbox.send(.drain)
        shutdownBeganContinuation.finish()
    }

    private func cancelCallsAfterGracePeriod() async {
        for await _ in shutdownBegan {}
        guard !Task.isCancelled, (try? await Task.sleep(for: config.shutdownGracePeriod)) != nil else { return }
        let cancelled = calls.cancelAll(andLater: false)
        if cancelled > 0 {
            logger.notice("grace period over: cancelled calls in flight", metadata: ["bus.calls": "\(cancelled)"])
        }
    }

    private func handle(
        _ call: IncomingCall,
        with streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async {
        defer { calls.finished(call.id) }
        logger.debug(
            "call received", metadata: ["rpc.method": "\(call.header.method)", "rpc.call-id": "\(call.header.callID)"])
        let isUnary = unaryMethods.withLock { $0.contains(call.header.method) }
        let writer = ReplyWriter(call: call, isUnary: isUnary, mailbox: mailbox)
        guard let descriptor = MethodDescriptor(path: call.header.method) else {
            await writer.fail(RPCError(code: .unimplemented, message: "malformed method path"))
            return
        }
        // The service frame names the service, the header its method: they must agree.
        guard call.servedUnder.prefix(while: { $0 != "/" }) == descriptor.service.fullyQualifiedService else {
            await writer.fail(
                RPCError(
                    code: .unimplemented,
                    message: "\(call.header.method) is not a method of \(call.servedUnder), the service it was sent to")
            )
            return
        }
        // A call whose caller has already stopped waiting is not started: nothing it did could be answered.
        if let deadline = call.deadline, deadline <= .now {
            await writer.fail(RPCError(code: .deadlineExceeded, message: "the deadline passed before the call started"))
            return
        }
        var metadata = Envelope.metadata(call.header.metadata)
        metadata.replaceOrAddString(call.header.peer, forKey: Envelope.ReservedKey.peer)
        metadata.replaceOrAddString(String(call.header.attempt), forKey: Envelope.ReservedKey.attempt)
        let (inbound, requests) = AsyncThrowingStream.makeStream(of: RPCRequestPart<Bytes>.self)
        requests.yield(.metadata(metadata))
        requests.yield(.message(call.payload))
        requests.finish()
        let stream = RPCStream(
            descriptor: descriptor,
            inbound: RPCAsyncSequence(wrapping: inbound),
            outbound: RPCWriter.Closable(wrapping: writer))
        await withServerContextRPCCancellationHandle { handle in
            calls.attach(handle, to: call.id)
            let context = ServerContext(
                descriptor: descriptor, remotePeer: call.header.peer, localPeer: config.instanceName,
                cancellation: handle)
            await streamHandler(stream, context)
        }
        await writer.fail(RPCError(code: .internalError, message: "the handler ended without a status"))
    }
}

extension MethodDescriptor {
    /// Parses "/package.Service/Method".
    init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(fullyQualifiedService: String(parts[1]), method: String(parts[2]))
    }
}
