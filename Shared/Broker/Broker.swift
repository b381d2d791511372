public import BusProtocol
import Logging
public import ServiceLifecycle
import Synchronization
public import ZeroMQ

/// A ContactPoint broker: MDP/0.2 request routing with CURVE + ZAP authentication.
///
/// All of its sockets live on one ``SocketThread``: the ROUTER that clients and workers connect
/// to and the ZAP handler's REP socket. Routing decisions are
/// made by ``BrokerCore``; this type only moves frames between it and the sockets.
public final class Broker: Service, Sendable {
    public struct Config: Sendable {
        /// Where clients and workers connect (MDP over a ROUTER socket).
        public var endpoint = "tcp://*:5555"
        public var keyPair: CurveKeyPair
        public var allowList: AllowList
        public var zapDomain = "contactpoint"
        /// Inbound messages above this size make libzmq drop the sender's connection.
        public var maxMessageBytes: Int64 = 8 << 20
        public var routing = BrokerCore.Config()
        /// Agency gateways admitted from the identity service's registry (nil: the static
        /// allow-list alone); kept up to date by whoever reads the registry.
        public var gateways: GatewayAdmissions?

        public init(keyPair: CurveKeyPair, allowList: AllowList) {
            self.keyPair = keyPair
            self.allowList = allowList
        }
    }

    /// The endpoints actually bound, with wildcard ports resolved.
    public struct Endpoints: Sendable, Hashable, Codable {
        public var requests: String

        public init(requests: String) {
            self.requests = requests
        }
    }

    private enum Command: Sendable { case stop }

    private enum State {
        case idle
        case running(SocketThread, Mailbox<Command>, Endpoints)
        case stopped
    }

    public let config: Config
    private let logger: Logger
    private let state = Mutex(State.idle)

    public init(config: Config, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Binds the sockets and starts routing; returns the bound endpoints.
    public func start() async throws -> Endpoints {
        let mailbox = try Mailbox<Command>()
        let endpoints = Mutex<Endpoints?>(nil)
        let thread = try await SocketThread.start(name: "broker") { [config, logger] started in
            do {
                let loop = try BrokerLoop(config: config, mailbox: mailbox, logger: logger)
                endpoints.withLock { $0 = loop.endpoints }
                started.started()
                loop.run()
            } catch {
                started.failed(error)
            }
        }
        let bound = endpoints.withLock { $0! }
        state.withLock { $0 = .running(thread, mailbox, bound) }
        logger.notice("broker listening", metadata: ["bus.requests": "\(bound.requests)"])
        return bound
    }

    /// Runs until graceful shutdown (SIGTERM/SIGINT under a `ServiceGroup`).
    public func run() async throws {
        let alreadyRunning = state.withLock { if case .running = $0 { true } else { false } }
        if !alreadyRunning { _ = try await start() }
        await withGracefulShutdownHandler {
            await self.join()
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Stops routing and closes the sockets; workers and clients fail over to other brokers.
    public func beginGracefulShutdown() {
        let mailbox = state.withLock { state -> Mailbox<Command>? in
            if case .running(_, let mailbox, _) = state { return mailbox }
            return nil
        }
        mailbox?.send(.stop)
    }

    /// Waits until the broker's thread has closed its sockets.
    public func join() async {
        let thread = state.withLock { state -> SocketThread? in
            if case .running(let thread, _, _) = state { return thread }
            return nil
        }
        await thread?.join()
        state.withLock { $0 = .stopped }
    }

    // MARK: The poll loop

    /// Everything that lives on the broker's thread.
    private final class BrokerLoop {
        let context: Context
        let requests: Socket
        let zap: Socket
        let mailbox: Mailbox<Command>
        let zapHandler: ZAPHandler
        let logger: Logger
        let endpoints: Endpoints
        var core: BrokerCore
        var actions: [BrokerCore.Action] = []
        /// What peers' junk, refusals and rejected calls may log: a few lines a minute each.
        var logLimiter = LogRateLimiter<ContinuousClock>(window: .seconds(60))

        init(config: Config, mailbox: Mailbox<Command>, logger: Logger) throws {
            context = try Context()
            self.mailbox = mailbox
            self.logger = logger
            zapHandler = ZAPHandler(domain: config.zapDomain, allowList: config.allowList, gateways: config.gateways)
            // The ZAP handler must be bound before any CURVE socket accepts a connection.
            zap = try Socket(context: context, kind: .rep)
            try zap.bind(ZAPHandler.endpoint)

            var serverConfig = Socket.Config(
                security: .curveServer(secretKey: config.keyPair.secretKey, zapDomain: config.zapDomain))
            serverConfig.maxMessageSize = config.maxMessageBytes
            serverConfig.sendHighWaterMark = 100_000
            serverConfig.receiveHighWaterMark = 100_000
            requests = try Socket(context: context, kind: .router, config: serverConfig)
            endpoints = Endpoints(requests: try requests.bind(config.endpoint))
            core = BrokerCore(
                config: config.routing, now: .now,
                mayServe: { [allowList = config.allowList] principal, service in
                    allowList.principal(principal, mayServe: service)
                },
                mayCall: { [gateways = config.gateways] principal in gateways?.mayCall(principal) ?? true })
        }

        func run() {
            var poller = Poller()
            let requestsItem = poller.add(requests)
            let zapItem = poller.add(zap)
            let mailboxItem = poller.add(fileDescriptor: mailbox.fileDescriptor)
            defer { close() }
            do {
                while true {
                    let wait = ContinuousClock.now.duration(to: core.nextTick)
                    let millis = max(0, Int(wait / .milliseconds(1)) + 1)
                    _ = try poller.poll(timeoutMillis: millis)
                    // ZAP first: a pending handshake blocks that peer's traffic.
                    if poller.isReadable(zapItem) { try answerZAP() }
                    if poller.isReadable(requestsItem) { try routeRequests(upTo: 256) }
                    if poller.isReadable(mailboxItem),
                        mailbox.drain().contains(where: { if case .stop = $0 { true } else { false } })
                    {
                        logger.notice("broker stopping")
                        return
                    }
                    let now = ContinuousClock.now
                    if now >= core.nextTick {
                        // Heartbeats that arrived while this thread was busy may still be in the socket:
                        // read what waits first, so that a busy broker makes no live worker look silent;
                        // bounded, so that a flood cannot hold the tick (and the heartbeats it sends) off.
                        try routeRequests(upTo: 10_000)
                        core.tick(now: .now, into: &actions)
                        try perform()
                        for left in logLimiter.endWindows(now: now) {
                            logger.warning(
                                "log lines left out",
                                metadata: [
                                    "bus.peer": "\(left.peer)", "log.line": "\(left.line)",
                                    "log.count": "\(left.count)",
                                ])
                        }
                    }
                }
            } catch {
                logger.critical("broker poll loop failed", metadata: ["error": "\(error)"])
            }
        }

        private func close() {
            _ = mailbox.close()
            for socket in [requests, zap] { socket.close() }
        }

        /// Handles up to `limit` waiting messages: a batch between polls, so that ticks and the ZAP
        /// socket are not starved, and a larger one before a tick judges which workers are silent.
        private func routeRequests(upTo limit: Int) throws {
            for _ in 0..<limit {
                guard let message = try requests.receive(dontWait: true) else { return }
                core.receive(message.frames, peer: message.userID ?? "", now: .now, into: &actions)
                try perform()
            }
        }

        private func perform() throws {
            for action in actions {
                switch action {
                case .send(let frames):
                    // A full or vanished peer drops the message: MDP peers recover by heartbeat and retry.
                    _ = try requests.send(frames, dontWait: true)
                case .report(let incident):
                    log(incident)
                }
            }
            actions.removeAll(keepingCapacity: true)
        }

        private func answerZAP() throws {
            while let request = try zap.receive(dontWait: true) {
                guard let (frames, decision) = zapHandler.reply(to: request) else {
                    logger.warning("malformed ZAP request dropped")
                    // A REP socket must answer before it can receive again.
                    try zap.send([[UInt8]("1.0".utf8), [], [UInt8]("500".utf8), [], [], []])
                    continue
                }
                try zap.send(frames)
                if case .denied(let reason) = decision {
                    // The peer has no principal: it is known by its address alone.
                    let address = request.count > 3 ? String(frame: request[3]) ?? "" : ""
                    limited(.warning, "peer refused", peer: address, ["bus.reason": "\(reason)"])
                }
            }
        }

        private func log(_ incident: BrokerCore.Incident) {
            switch incident {
            case .malformedMessage(let peer, let reason):
                limited(.warning, "malformed message dropped", peer: peer, ["bus.reason": "\(reason)"])
            case .workerRegistered(let service, let peer):
                logger.info("worker registered", metadata: ["bus.service": "\(service)", "bus.peer": "\(peer)"])
            case .workerRefused(let service, let peer):
                limited(.warning, "worker refused: not allowed to serve", peer: peer, ["bus.service": "\(service)"])
            case .workerLost(let service, let peer, let reason, let callsFailed):
                // A worker leaving cleanly is routine; one that vanished, or took a call with it, is not.
                let level: Logger.Level = callsFailed > 0 || reason != BrokerCore.disconnectedReason ? .notice : .info
                logger.log(
                    level: level, "worker lost",
                    metadata: [
                        "bus.service": "\(service)", "bus.peer": "\(peer)", "bus.reason": "\(reason)",
                        "bus.calls-failed": "\(callsFailed)",
                    ])
            case .callRejected(let service, let peer, let code, let reason):
                limited(
                    .info, "call rejected", peer: peer,
                    ["bus.service": "\(service)", "rpc.code": "\(code)", "bus.reason": "\(reason)"])
            }
        }

        /// Logs a line a peer's traffic causes, unless that peer has had its share of such lines
        /// this minute (``LogRateLimiter``).
        private func limited(
            _ level: Logger.Level, _ line: String, peer: String, _ metadata: Logger.Metadata
        ) {
            guard logger.logLevel <= level, logLimiter.admit(peer: peer, line: line, now: .now) else { return }
            logger.log(level: level, "\(line)", metadata: metadata.merging(["bus.peer": "\(peer)"]) { $1 })
        }
    }
}
