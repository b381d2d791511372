import BusProtocol
import ContactPointAPI
import Logging
import ZeroMQ

/// The socket thread of a ``BusServerTransport``: its MDP worker sessions and its mailbox.
final class WorkerLoop {
    private struct Session {
        let broker: Int
        let service: String
        var socket: Socket?
        /// The socket's `ZMQ_FD`, registered with the readiness set under token `index + 1`.
        var signalDescriptor: Int32 = -1
        /// Bumped on every reconnection, so a reply to a call from an earlier connection is dropped.
        var generation: UInt64 = 0
        /// The call the session holds, if any, and when its caller stops waiting for it.
        var call: (id: UInt64, deadline: ContinuousClock.Instant?)?
        var busy: Bool { call != nil }
        var brokerExpiry: ContinuousClock.Instant
    }

    private let transport: BusServerTransport
    private let incoming: AsyncStream<BusServerTransport.IncomingCall>.Continuation
    private let context: Context
    private var sessions: [Session] = []
    private var draining = false
    /// Waits on the mailbox (token 0) and every session's socket (token `index + 1`).
    private let readiness: ReadinessSet
    /// Sessions that may have input waiting: their descriptor fired, or they just sent (a send
    /// can consume the signal of a message that arrived meanwhile).
    private var maybeReadable = Set<Int>()
    private var nextHeartbeat: ContinuousClock.Instant
    private var nextCallID: UInt64 = 0
    /// No call's deadline passes before this (one may have ended since: then it is looked at early).
    private var nextDeadline: ContinuousClock.Instant?
    private var config: BusServerTransport.Config { transport.config }

    init(
        transport: BusServerTransport, services: [String],
        incoming: AsyncStream<BusServerTransport.IncomingCall>.Continuation
    ) throws {
        self.transport = transport
        self.incoming = incoming
        context = try Context()
        readiness = try ReadinessSet()
        try readiness.add(transport.mailbox.fileDescriptor, token: 0)
        let now = ContinuousClock.now
        nextHeartbeat = now + transport.config.heartbeatInterval
        for broker in transport.config.brokers.indices {
            for service in services {
                for _ in 0..<transport.config.sessionsPerBroker {
                    sessions.append(Session(broker: broker, service: service, brokerExpiry: now))
                }
            }
        }
        for index in sessions.indices { try open(index, now: now) }
    }

    func run() {
        defer { close() }
        do {
            while !(draining && sessions.allSatisfy({ $0.socket == nil })) {
                let wait = ContinuousClock.now.duration(to: min(nextHeartbeat, nextDeadline ?? nextHeartbeat))
                let timeout = maybeReadable.isEmpty ? Int32(max(0, Int(wait / .milliseconds(1)) + 1)) : 0
                for token in try readiness.wait(timeoutMillis: timeout) {
                    if token == 0 {
                        for command in transport.mailbox.drain() { try perform(command) }
                    } else {
                        maybeReadable.insert(Int(token - 1))
                    }
                }
                let candidates = maybeReadable
                maybeReadable.removeAll(keepingCapacity: true)
                for index in candidates where sessions[index].socket != nil {
                    try receive(index)
                }
                let now = ContinuousClock.now
                if now >= nextHeartbeat { try heartbeat(now: now) }
                if let nextDeadline, now >= nextDeadline { cancelCallsPastDeadline(now: now) }
            }
        } catch {
            transport.logger.critical("bus worker loop failed", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ command: BusServerTransport.Command) throws {
        switch command {
        case .reply(let index, let generation, let frames, let isFinal):
            guard sessions[index].generation == generation, let socket = sessions[index].socket else { return }
            try socket.send(frames)
            maybeReadable.insert(index)
            if isFinal {
                sessions[index].call = nil
                if draining { leave(index) }
            }
        case .drain:
            draining = true
            for index in sessions.indices where !sessions[index].busy { leave(index) }
        }
    }

    /// Handles what a session's socket has waiting, a bounded batch at a time.
    private func receive(_ index: Int) throws {
        for _ in 0..<64 {
            guard let socket = sessions[index].socket else { return }
            guard let message = try socket.receive(dontWait: true) else {
                // Reading `ZMQ_EVENTS` re-arms the descriptor; input may have arrived meanwhile.
                if try socket.hasInput { maybeReadable.insert(index) }
                return
            }
            sessions[index].brokerExpiry = .now + config.heartbeatInterval * config.heartbeatLiveness
            guard let command = try? Majordomo.WorkerCommand(frames: message.frames[...]) else {
                transport.logger.warning(
                    "malformed message from broker dropped", metadata: ["bus.broker": "\(sessions[index].broker + 1)"])
                continue
            }
            switch command {
            case .request(let client, let body):
                guard !sessions[index].busy, body.count == 2,
                    let header = Envelope.decode(Contactpoint_V1_RequestHeader.self, from: body[0])
                else {
                    transport.logger.warning("unexpected request from broker dropped")
                    continue
                }
                nextCallID += 1
                let deadline =
                    header.timeoutMicros > 0 ? ContinuousClock.now + .microseconds(header.timeoutMicros) : nil
                sessions[index].call = (nextCallID, deadline)
                if let deadline { nextDeadline = min(deadline, nextDeadline ?? deadline) }
                incoming.yield(
                    .init(
                        id: nextCallID, session: index, generation: sessions[index].generation, client: client,
                        header: header, payload: body[1], deadline: deadline,
                        servedUnder: sessions[index].service))
            case .heartbeat:
                break
            case .disconnect:
                // The broker forgot us (restart, purge) or refused us: register again on a new
                // socket at the next heartbeat, not at once, so a refusal cannot become a storm.
                closeSocket(of: index)
                if !draining {
                    transport.logger.notice(
                        "broker disconnected this worker session",
                        metadata: [
                            "bus.broker": "\(sessions[index].broker + 1)", "bus.service": "\(sessions[index].service)",
                        ])
                }
                return
            case .ready, .partial, .final:
                transport.logger.warning("unexpected worker command from broker dropped")
            }
        }
        maybeReadable.insert(index)
    }

    /// Stops the calls whose callers have stopped waiting (each once), and finds the next deadline.
    private func cancelCallsPastDeadline(now: ContinuousClock.Instant) {
        nextDeadline = nil
        for index in sessions.indices {
            guard case (let id, let deadline?)? = sessions[index].call else { continue }
            if deadline <= now {
                sessions[index].call = (id, nil)
                transport.calls.cancel(id)
            } else {
                nextDeadline = min(deadline, nextDeadline ?? deadline)
            }
        }
    }

    private func heartbeat(now: ContinuousClock.Instant) throws {
        // More than an interval late: this process was not running, and the brokers' heartbeats
        // may still be on their way in. Each session gets a whole window before its broker is
        // called silent (the broker does the same for its workers).
        let stalled = now - nextHeartbeat > config.heartbeatInterval
        nextHeartbeat = now + config.heartbeatInterval
        for index in sessions.indices {
            guard let socket = sessions[index].socket else {
                if !draining { try open(index, now: now) }
                continue
            }
            // Input not read yet (this thread was busy or descheduled) is the broker talking: a
            // busy host must not make a live broker look silent.
            let unread = sessions[index].brokerExpiry <= now ? try socket.hasInput : false
            if stalled || unread {
                sessions[index].brokerExpiry = now + config.heartbeatInterval * config.heartbeatLiveness
                maybeReadable.insert(index)
            }
            if sessions[index].brokerExpiry <= now {
                transport.logger.notice(
                    "broker silent, reconnecting", metadata: ["bus.broker": "\(sessions[index].broker + 1)"])
                try open(index, now: now)
            } else {
                try socket.send(Majordomo.WorkerCommand.heartbeat.frames, dontWait: true)
                maybeReadable.insert(index)
            }
        }
    }

    /// Opens (or reopens) a session on a new socket and registers it with READY.
    private func open(_ index: Int, now: ContinuousClock.Instant) throws {
        // A reply on the old socket would be dropped (see `perform`): its call has no caller left.
        if let (id, _) = sessions[index].call { transport.calls.cancel(id) }
        closeSocket(of: index)
        let broker = config.brokers[sessions[index].broker]
        var socketConfig = Socket.Config(security: .curveClient(keyPair: config.keyPair, serverKey: broker.publicKey))
        socketConfig.reconnectInterval = (100, 2000)
        socketConfig.sendHighWaterMark = 10_000
        let socket = try Socket(context: context, kind: .dealer, config: socketConfig)
        try socket.connect(broker.endpoint)
        try socket.send(Majordomo.WorkerCommand.ready(service: sessions[index].service).frames)
        sessions[index].socket = socket
        sessions[index].signalDescriptor = try socket.signalDescriptor()
        try readiness.add(sessions[index].signalDescriptor, token: UInt64(index + 1))
        maybeReadable.insert(index)
        sessions[index].generation &+= 1
        sessions[index].call = nil
        sessions[index].brokerExpiry = now + config.heartbeatInterval * config.heartbeatLiveness
    }

    /// Tells the broker this session is leaving, and closes it.
    private func leave(_ index: Int) {
        guard let socket = sessions[index].socket else { return }
        _ = try? socket.send(Majordomo.WorkerCommand.disconnect.frames, dontWait: true)
        closeSocket(of: index, lingerMillis: 200)
    }

    private func closeSocket(of index: Int, lingerMillis: Int32 = 0) {
        guard let socket = sessions[index].socket else { return }
        readiness.remove(sessions[index].signalDescriptor)
        socket.close(lingerMillis: lingerMillis)
        sessions[index].socket = nil
        sessions[index].signalDescriptor = -1
    }

    private func close() {
        incoming.finish()
        _ = transport.mailbox.close()
        for index in sessions.indices { leave(index) }
    }
}
