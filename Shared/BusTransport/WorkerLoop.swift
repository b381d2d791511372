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
        /// Bumped on every reconnection, so a reply to a call from an earlier connection is dropped.
        var generation: UInt64 = 0
        var busy = false
        var brokerExpiry: ContinuousClock.Instant
    }

    private let transport: BusServerTransport
    private let incoming: AsyncStream<BusServerTransport.IncomingCall>.Continuation
    private let context: Context
    private var sessions: [Session] = []
    private var draining = false
    /// Set when a session's socket is opened or closed, so the poll set is rebuilt.
    private var socketsChanged = true
    private var nextHeartbeat: ContinuousClock.Instant
    private var config: BusServerTransport.Config { transport.config }

    init(
        transport: BusServerTransport, services: [String],
        incoming: AsyncStream<BusServerTransport.IncomingCall>.Continuation
    ) throws {
        self.transport = transport
        self.incoming = incoming
        context = try Context()
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
            var poller = Poller()
            var polled: [Int] = []
            var mailboxItem = 0
            while !(draining && sessions.allSatisfy({ $0.socket == nil })) {
                if socketsChanged {
                    // Rebuilt only when a session opens or closes, not on every message.
                    poller = Poller()
                    mailboxItem = poller.add(fileDescriptor: transport.mailbox.fileDescriptor)
                    polled = sessions.indices.filter { sessions[$0].socket != nil }
                    for index in polled { poller.add(sessions[index].socket!) }
                    socketsChanged = false
                }
                let wait = ContinuousClock.now.duration(to: nextHeartbeat)
                _ = try poller.poll(timeoutMillis: max(0, Int(wait / .milliseconds(1)) + 1))

                if poller.isReadable(mailboxItem) {
                    for command in transport.mailbox.drain() { try perform(command) }
                }
                for (item, index) in polled.enumerated() where poller.isReadable(item + 1) && sessions[index].socket != nil {
                    try receive(index)
                }
                let now = ContinuousClock.now
                if now >= nextHeartbeat { try heartbeat(now: now) }
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
            if isFinal {
                sessions[index].busy = false
                if draining { leave(index) }
            }
        case .drain:
            draining = true
            for index in sessions.indices where !sessions[index].busy { leave(index) }
        }
    }

    private func receive(_ index: Int) throws {
        for _ in 0..<64 {
            guard let socket = sessions[index].socket, let message = try socket.receive(dontWait: true) else { return }
            sessions[index].brokerExpiry = .now + config.heartbeatInterval * config.heartbeatLiveness
            guard let command = try? Majordomo.WorkerCommand(frames: message.frames[...]) else {
                transport.logger.warning("malformed message from broker dropped", metadata: ["bus.broker": "\(sessions[index].broker + 1)"])
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
                sessions[index].busy = true
                incoming.yield(.init(
                    session: index, generation: sessions[index].generation, client: client, header: header, payload: body[1]))
            case .heartbeat:
                break
            case .disconnect:
                // The broker forgot us (restart, purge) or refused us: register again on a new
                // socket at the next heartbeat, not at once, so a refusal cannot become a storm.
                sessions[index].socket?.close()
                sessions[index].socket = nil
                socketsChanged = true
                if !draining {
                    transport.logger.notice("broker disconnected this worker session", metadata: [
                        "bus.broker": "\(sessions[index].broker + 1)", "bus.service": "\(sessions[index].service)",
                    ])
                }
                return
            case .ready, .partial, .final:
                transport.logger.warning("unexpected worker command from broker dropped")
            }
        }
    }

    private func heartbeat(now: ContinuousClock.Instant) throws {
        nextHeartbeat = now + config.heartbeatInterval
        for index in sessions.indices {
            guard let socket = sessions[index].socket else {
                if !draining { try open(index, now: now) }
                continue
            }
            if sessions[index].brokerExpiry <= now {
                transport.logger.notice("broker silent, reconnecting", metadata: ["bus.broker": "\(sessions[index].broker + 1)"])
                try open(index, now: now)
            } else {
                try socket.send(Majordomo.WorkerCommand.heartbeat.frames, dontWait: true)
            }
        }
    }

    /// Opens (or reopens) a session on a new socket and registers it with READY.
    private func open(_ index: Int, now: ContinuousClock.Instant) throws {
        sessions[index].socket?.close()
        let broker = config.brokers[sessions[index].broker]
        var socketConfig = Socket.Config(security: .curveClient(keyPair: config.keyPair, serverKey: broker.publicKey))
        socketConfig.reconnectInterval = (100, 2000)
        socketConfig.sendHighWaterMark = 10_000
        let socket = try Socket(context: context, kind: .dealer, config: socketConfig)
        try socket.connect(broker.endpoint)
        try socket.send(Majordomo.WorkerCommand.ready(service: sessions[index].service).frames)
        sessions[index].socket = socket
        socketsChanged = true
        sessions[index].generation &+= 1
        sessions[index].busy = false
        sessions[index].brokerExpiry = now + config.heartbeatInterval * config.heartbeatLiveness
    }

    /// Tells the broker this session is leaving, and closes it.
    private func leave(_ index: Int) {
        guard let socket = sessions[index].socket else { return }
        _ = try? socket.send(Majordomo.WorkerCommand.disconnect.frames, dontWait: true)
        socket.close(lingerMillis: 200)
        sessions[index].socket = nil
        socketsChanged = true
    }

    private func close() {
        incoming.finish()
        _ = transport.mailbox.close()
        for index in sessions.indices { leave(index) }
    }
}
