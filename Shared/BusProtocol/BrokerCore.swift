import ContactPointAPI
import DequeModule
public import GRPCCore

/// The broker's routing logic as a pure state machine: messages and clock ticks in, frames to
/// send and incidents to report out. No sockets, no clock of its own, no threads — the
/// `Broker` runtime feeds it from its poll loop, and tests feed it directly.
///
/// Beyond the MDP/0.2 reference broker it tracks which call each worker holds, so that when a
/// worker dies (DISCONNECT or heartbeat expiry) the caller gets UNAVAILABLE at once; it never
/// dispatches a call whose deadline has passed (DEADLINE_EXCEEDED); it bounds each service's
/// queue and each caller's share of it, serving callers in turn (``FairQueue``; past a bound
/// RESOURCE_EXHAUSTED); and it stamps the authenticated peer into every request header.
public struct BrokerCore {
    public typealias Instant = ContinuousClock.Instant

    public struct Config: Sendable {
        /// How often the broker heartbeats each worker; workers are expected to do the same.
        public var heartbeatInterval: Duration = .milliseconds(1000)
        /// Heartbeat intervals without a word from a worker before it is purged.
        public var heartbeatLiveness = 3
        /// Requests one service may have waiting for a worker; past it RESOURCE_EXHAUSTED.
        public var maxQueuedPerService = 1024
        /// Of those, what one principal may have waiting: no caller can fill a service's queue.
        public var maxQueuedPerPrincipal = 256
        /// Of a principal's, what one session (its `authorization` metadata) may have waiting: a
        /// principal carrying many practitioners (the portal, a gateway) cannot be filled by one.
        public var maxQueuedPerSession = 64
        /// How long a request waits for a worker of its service before UNAVAILABLE, if its own
        /// deadline is not sooner.
        public var unroutableTimeout: Duration = .seconds(5)
        /// Body frames a request may carry (header + payload); anything longer is dropped.
        public var maxBodyFrames = 4

        public init() {}

        var workerExpiry: Duration { heartbeatInterval * heartbeatLiveness }
    }

    /// Decides whether an authenticated principal may register as a worker of a service.
    public typealias WorkerPolicy = @Sendable (_ principal: String, _ service: String) -> Bool
    /// Whether a principal's requests are still routed (a revoked agency gateway's are not).
    public typealias CallerPolicy = @Sendable (_ principal: String) -> Bool

    public enum Action: Hashable, Sendable {
        /// Send these frames on the ROUTER socket; the first is the peer's routing id.
        case send([[UInt8]])
        /// Something an operator should know of; the runtime logs it.
        case report(Incident)
    }

    public enum Incident: Hashable, Sendable {
        case malformedMessage(peer: String, reason: String)
        case workerRegistered(service: String, peer: String)
        case workerRefused(service: String, peer: String)
        case workerLost(service: String, peer: String, reason: String, callsFailed: Int)
        case callRejected(service: String, peer: String, code: Status.Code, reason: String)
    }

    private struct Request {
        var client: [UInt8]
        var service: String
        var header: Contactpoint_V1_RequestHeader
        var payload: ArraySlice<[UInt8]>
        var deadline: Instant?
        /// When it stops waiting for a worker to appear.
        var routableUntil: Instant
    }

    private struct Call {
        var client: [UInt8]
        var callID: UInt64
    }

    private struct Worker {
        var identity: [UInt8]
        var service: String
        var peer: String
        var expiresAt: Instant
        var call: Call?
    }

    private struct Service {
        var queue: FairQueue<Request>
        /// Idle workers, least recently used first.
        var idle: [[UInt8]] = []
        var workers = 0

        init(_ config: Config) {
            queue = FairQueue(
                capacity: config.maxQueuedPerService, perPrincipal: config.maxQueuedPerPrincipal,
                perSession: config.maxQueuedPerSession)
        }
    }

    /// The reason reported when a worker leaves with DISCONNECT.
    public static let disconnectedReason = "disconnected"

    public let config: Config
    private let mayServe: WorkerPolicy
    private let mayCall: CallerPolicy
    private var workers: [[UInt8]: Worker] = [:]
    private var services: [String: Service] = [:]
    private var nextHeartbeat: Instant
    /// No queued request stops waiting before this (one may have been dispatched since: then
    /// the queues are looked at early, which is harmless).
    private var nextQueueExpiry: Instant?

    public init(
        config: Config = Config(), now: Instant, mayServe: @escaping WorkerPolicy,
        mayCall: @escaping CallerPolicy = { _ in true }
    ) {
        self.config = config
        self.mayServe = mayServe
        self.mayCall = mayCall
        self.nextHeartbeat = now + config.heartbeatInterval
    }

    // MARK: Inspection

    public var workerCount: Int { workers.count }
    public var callsInFlight: Int { workers.values.count { $0.call != nil } }
    public func queuedRequests(for service: String) -> Int { services[service]?.queue.count ?? 0 }
    public func workers(for service: String) -> Int { services[service]?.workers ?? 0 }
    /// When ``tick(now:into:)`` next has work to do; the runtime polls no longer than this.
    /// The next heartbeat or, if sooner, the moment a queued request's deadline or wait limit
    /// passes: a request is answered when it expires, not at the next heartbeat.
    public var nextTick: Instant { min(nextHeartbeat, nextQueueExpiry ?? nextHeartbeat) }

    // MARK: Events

    /// Handles one message from the ROUTER socket: `frames[0]` is the sender's routing id and
    /// `peer` the principal the ZAP handler authenticated for its connection.
    public mutating func receive(_ frames: [[UInt8]], peer: String, now: Instant, into actions: inout [Action]) {
        guard frames.count >= 2 else {
            actions.append(.report(.malformedMessage(peer: peer, reason: "no protocol frame")))
            return
        }
        let sender = frames[0]
        switch frames[1] {
        case Majordomo.clientProtocol:
            do {
                let command = try Majordomo.ClientCommand(frames: frames[1...])
                guard case .request(let service, let body) = command else {
                    throw Majordomo.MalformedMessage.unknownCommand
                }
                clientRequest(from: sender, peer: peer, service: service, body: body, now: now, into: &actions)
            } catch {
                actions.append(.report(.malformedMessage(peer: peer, reason: "client: \(error)")))
            }
        case Majordomo.workerProtocol:
            do {
                let command = try Majordomo.WorkerCommand(frames: frames[1...])
                workerCommand(command, from: sender, peer: peer, now: now, into: &actions)
            } catch {
                actions.append(.report(.malformedMessage(peer: peer, reason: "worker: \(error)")))
                if workers[sender] != nil {
                    disconnect(sender, reason: "sent a malformed command", now: now, into: &actions)
                }
            }
        default:
            actions.append(.report(.malformedMessage(peer: peer, reason: "unknown protocol")))
        }
    }

    /// Heartbeats workers, purges the silent ones and expires queued requests. Call it at
    /// ``nextTick`` (earlier is harmless).
    public mutating func tick(now: Instant, into actions: inout [Action]) {
        // A tick more than an interval late means this broker was not running (a busy or suspended
        // host): the silence it saw was its own, and its workers' heartbeats may still be on their
        // way in. Each worker gets a whole liveness window from now before it is judged silent.
        if now - nextHeartbeat > config.heartbeatInterval {
            for identity in workers.keys {
                workers[identity]!.expiresAt = max(workers[identity]!.expiresAt, now + config.workerExpiry)
            }
        }
        if now >= nextHeartbeat {
            for identity in workers.keys {
                actions.append(.send([identity] + Majordomo.WorkerCommand.heartbeat.frames))
            }
            nextHeartbeat = now + config.heartbeatInterval
        }
        for (identity, worker) in workers where worker.expiresAt <= now {
            remove(identity, reason: "heartbeat expired", into: &actions)
        }
        if let expiry = nextQueueExpiry, expiry <= now {
            nextQueueExpiry = nil
            for name in services.keys {
                expireQueued(service: name, now: now, into: &actions)
            }
        }
    }

    // MARK: Clients

    private mutating func clientRequest(
        from client: [UInt8], peer: String, service: String, body: [[UInt8]], now: Instant,
        into actions: inout [Action]
    ) {
        if service.hasPrefix(Majordomo.mmiPrefix) {
            answerManagementRequest(from: client, service: service, body: body, into: &actions)
            return
        }
        guard body.count >= 2, body.count <= config.maxBodyFrames,
            var header = Envelope.decode(Contactpoint_V1_RequestHeader.self, from: body[0])
        else {
            actions.append(.report(.malformedMessage(peer: peer, reason: "request body is not header + payload")))
            return
        }
        header.peer = peer
        let waitLimit = now + config.unroutableTimeout
        let deadline = header.timeoutMicros > 0 ? now + .microseconds(header.timeoutMicros) : nil
        let request = Request(
            client: client, service: service, header: header, payload: body[1...], deadline: deadline,
            routableUntil: deadline.map { min($0, waitLimit) } ?? waitLimit)
        guard mayCall(peer) else {
            fail(request, code: .unauthenticated, message: "\(peer) is no longer admitted to the bus", into: &actions)
            return
        }
        // Nothing waiting and a worker free: no queue to share.
        if let waiting = services[service], waiting.queue.isEmpty, !waiting.idle.isEmpty {
            start(request, service: service, now: now, into: &actions)
            return
        }
        let session = header.metadata.first { $0.key == "authorization" }?.text
        let firstOfItsName = Service(config)
        do {
            try services[service, default: firstOfItsName].queue.append(request, principal: peer, session: session)
        } catch {
            let message =
                switch error {
                case .full: "the queue for \(service) is full"
                case .principalFull: "\(peer) has its share of the queue for \(service) waiting: wait for replies"
                case .sessionFull: "this session has its share of the queue for \(service) waiting: wait for replies"
                }
            fail(request, code: .resourceExhausted, message: message, into: &actions)
            return
        }
        nextQueueExpiry = min(request.routableUntil, nextQueueExpiry ?? request.routableUntil)
        dispatch(service: service, now: now, into: &actions)
    }

    /// MMI (RFC 8): `mmi.service` answers "200" if the named service has workers, "404" if not;
    /// `mmi.workers` (ours) answers how many worker sessions the named service has, in decimal;
    /// other `mmi.*` names answer "501". A body of [header, name] gets [reply header, code] back.
    private func answerManagementRequest(
        from client: [UInt8], service: String, body: [[UInt8]], into actions: inout [Action]
    ) {
        let code: String
        let name = body.last.flatMap { String(validating: $0, as: UTF8.self) }
        if service == Majordomo.mmiServiceLookup, let name {
            code = (services[name]?.workers ?? 0) > 0 ? "200" : "404"
        } else if service == Majordomo.mmiWorkerCount, let name {
            code = String(services[name]?.workers ?? 0)
        } else {
            code = "501"
        }
        var reply: [[UInt8]] = [Array(code.utf8)]
        if body.count == 2, let header = Envelope.decode(Contactpoint_V1_RequestHeader.self, from: body[0]) {
            var replyHeader = Contactpoint_V1_ReplyHeader()
            replyHeader.callID = header.callID
            reply.insert(Envelope.encode(replyHeader), at: 0)
        }
        actions.append(.send([client] + Majordomo.ClientCommand.final(service: service, body: reply).frames))
    }

    // MARK: Workers

    private mutating func workerCommand(
        _ command: Majordomo.WorkerCommand, from identity: [UInt8], peer: String, now: Instant,
        into actions: inout [Action]
    ) {
        if case .ready(let service) = command {
            guard workers[identity] == nil else {
                disconnect(identity, reason: "sent READY twice", now: now, into: &actions)
                return
            }
            guard !service.hasPrefix(Majordomo.mmiPrefix), mayServe(peer, service) else {
                actions.append(.report(.workerRefused(service: service, peer: peer)))
                actions.append(.send([identity] + Majordomo.WorkerCommand.disconnect.frames))
                return
            }
            workers[identity] = Worker(
                identity: identity, service: service, peer: peer, expiresAt: now + config.workerExpiry)
            let firstOfItsName = Service(config)
            services[service, default: firstOfItsName].workers += 1
            services[service]!.idle.append(identity)
            actions.append(.report(.workerRegistered(service: service, peer: peer)))
            dispatch(service: service, now: now, into: &actions)
            return
        }
        guard var worker = workers[identity] else {
            // Not registered (or purged): MDP says tell it to reconnect.
            if command != .disconnect {
                actions.append(.send([identity] + Majordomo.WorkerCommand.disconnect.frames))
            }
            return
        }
        worker.expiresAt = now + config.workerExpiry
        switch command {
        case .heartbeat, .ready:
            workers[identity] = worker
        case .partial(let client, let body), .final(let client, let body):
            guard let call = worker.call, call.client == client else {
                disconnect(identity, reason: "replied to a call it does not hold", now: now, into: &actions)
                return
            }
            let isFinal: Bool
            if case .final = command { isFinal = true } else { isFinal = false }
            let reply: Majordomo.ClientCommand =
                isFinal ? .final(service: worker.service, body: body) : .partial(service: worker.service, body: body)
            actions.append(.send([client] + reply.frames))
            if isFinal {
                worker.call = nil
                workers[identity] = worker
                services[worker.service]!.idle.append(identity)
                dispatch(service: worker.service, now: now, into: &actions)
            } else {
                workers[identity] = worker
            }
        case .request:
            disconnect(identity, reason: "sent REQUEST", now: now, into: &actions)
        case .disconnect:
            remove(identity, reason: Self.disconnectedReason, into: &actions)
        }
    }

    /// Sends waiting requests of `service` to its idle workers, least recently used first, in
    /// the queue's turns.
    private mutating func dispatch(service name: String, now: Instant, into actions: inout [Action]) {
        while services[name]?.idle.isEmpty == false, let request = services[name]!.queue.popFirst() {
            start(request, service: name, now: now, into: &actions)
        }
    }

    /// Sends `request` to the least recently used idle worker of `service`, with what is left of
    /// its deadline; a request whose deadline has passed is answered DEADLINE_EXCEEDED instead.
    private mutating func start(_ request: Request, service name: String, now: Instant, into actions: inout [Action]) {
        var request = request
        if let deadline = request.deadline {
            guard deadline > now else {
                fail(
                    request, code: .deadlineExceeded, message: "deadline passed before a worker was free",
                    into: &actions)
                return
            }
            request.header.timeoutMicros = max(1, UInt64((deadline - now) / .microseconds(1)))
        }
        let identity = services[name]!.idle.removeFirst()
        workers[identity]!.call = Call(client: request.client, callID: request.header.callID)
        let body = [Envelope.encode(request.header)] + request.payload
        actions.append(.send([identity] + Majordomo.WorkerCommand.request(client: request.client, body: body).frames))
    }

    private mutating func expireQueued(service name: String, now: Instant, into actions: inout [Action]) {
        guard services[name]?.queue.isEmpty == false else { return }
        for request in services[name]!.queue.removeAll(where: { $0.routableUntil <= now }) {
            if let deadline = request.deadline, deadline <= now {
                fail(request, code: .deadlineExceeded, message: "deadline passed while queued", into: &actions)
            } else {
                fail(request, code: .unavailable, message: "no worker of \(name) became free", into: &actions)
            }
        }
        for request in services[name]!.queue.elements {
            nextQueueExpiry = min(request.routableUntil, nextQueueExpiry ?? request.routableUntil)
        }
    }

    private mutating func disconnect(_ identity: [UInt8], reason: String, now: Instant, into actions: inout [Action]) {
        actions.append(.send([identity] + Majordomo.WorkerCommand.disconnect.frames))
        remove(identity, reason: reason, into: &actions)
    }

    /// Forgets a worker; the caller of the call it held, if any, gets UNAVAILABLE now.
    private mutating func remove(_ identity: [UInt8], reason: String, into actions: inout [Action]) {
        guard let worker = workers.removeValue(forKey: identity) else { return }
        services[worker.service]!.workers -= 1
        services[worker.service]!.idle.removeAll { $0 == identity }
        if let call = worker.call {
            let body = Envelope.failureBody(
                callID: call.callID, code: .unavailable, message: "the worker handling the call was lost (\(reason))")
            actions.append(
                .send([call.client] + Majordomo.ClientCommand.final(service: worker.service, body: body).frames))
        }
        actions.append(
            .report(
                .workerLost(
                    service: worker.service, peer: worker.peer, reason: reason, callsFailed: worker.call == nil ? 0 : 1)
            ))
    }

    private func fail(_ request: Request, code: Status.Code, message: String, into actions: inout [Action]) {
        let body = Envelope.failureBody(callID: request.header.callID, code: code, message: message)
        actions.append(
            .send([request.client] + Majordomo.ClientCommand.final(service: request.service, body: body).frames))
        actions.append(
            .report(.callRejected(service: request.service, peer: request.header.peer, code: code, reason: message)))
    }
}
