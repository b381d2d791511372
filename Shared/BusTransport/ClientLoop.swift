import BusProtocol
import ContactPointAPI
import GRPCCore
import Logging
import ZeroMQ

/// The socket thread of a ``BusClientTransport``: one DEALER per broker, each with a monitor
/// that reports connection changes, and the transport's mailbox.
final class ClientLoop {
    private let transport: BusClientTransport
    private let context: Context
    private let sockets: [Socket]
    private let monitors: [Socket]
    /// Requests sent to a broker that is not connected yet, sent when its handshake succeeds.
    private var backlog: [[(callID: UInt64, frames: [[UInt8]])]]
    /// Requests a connected broker's socket would not take yet, retried every few milliseconds
    /// for up to ``retryWindow``: just after the handshake libzmq may not have attached the
    /// connection to the socket (the monitor's event comes first), and a full queue drains. None
    /// has left this process, so sending it later cannot make it twice.
    private var retrying: [[(callID: UInt64, frames: [[UInt8]], since: ContinuousClock.Instant)]]
    private static let retryWindow: Duration = .seconds(1)
    private var stopping = false

    init(transport: BusClientTransport) throws {
        self.transport = transport
        context = try Context()
        var sockets: [Socket] = []
        var monitors: [Socket] = []
        for (index, broker) in transport.config.brokers.enumerated() {
            var config = Socket.Config(
                security: .curveClient(keyPair: transport.config.keyPair, serverKey: broker.publicKey))
            config.heartbeat = transport.config.connectionHeartbeat
            config.immediate = true
            config.sendHighWaterMark = 100_000
            config.receiveHighWaterMark = 100_000
            config.reconnectInterval = (100, 2000)
            let socket = try Socket(context: context, kind: .dealer, config: config)
            let monitorEndpoint = "inproc://bus-client-monitor-\(ObjectIdentifier(transport).hashValue)-\(index)"
            try socket.monitor(at: monitorEndpoint, events: [.handshakeSucceeded, .disconnected, .handshakeFailed])
            let monitor = try Socket(context: context, kind: .pair)
            try monitor.connect(monitorEndpoint)
            try socket.connect(broker.endpoint)
            sockets.append(socket)
            monitors.append(monitor)
        }
        self.sockets = sockets
        self.monitors = monitors
        self.backlog = Array(repeating: [], count: sockets.count)
        self.retrying = Array(repeating: [], count: sockets.count)
    }

    func run() {
        var poller = Poller()
        let mailboxItem = poller.add(fileDescriptor: transport.mailbox.fileDescriptor)
        let socketItems = sockets.map { poller.add($0) }
        let monitorItems = monitors.map { poller.add($0) }
        defer { close() }
        do {
            while !(stopping && transport.calls.isEmpty) {
                // While draining, wake now and then to see whether the last call has ended; while
                // requests wait to be retried, every few milliseconds.
                let isRetrying = retrying.contains { !$0.isEmpty }
                _ = try poller.poll(timeoutMillis: isRetrying ? 5 : stopping ? 20 : -1)
                if isRetrying { try retrySends() }
                if poller.isReadable(mailboxItem) {
                    for command in transport.mailbox.drain() { try perform(command) }
                }
                for (broker, item) in monitorItems.enumerated() where poller.isReadable(item) {
                    try handleMonitorEvents(broker: broker)
                }
                for (broker, item) in socketItems.enumerated() where poller.isReadable(item) {
                    try receiveReplies(broker: broker)
                }
            }
        } catch {
            Logger(label: "contactpoint.bus.client").critical("bus client loop failed", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ command: BusClientTransport.Command) throws {
        switch command {
        case .send(let callID, let broker, let frames):
            if try !sockets[broker].send(frames, dontWait: true) {
                switch transport.brokers.health(of: broker) {
                case .connecting:
                    backlog[broker].append((callID, frames))
                case .up:
                    retrying[broker].append((callID, frames, .now))
                case .down, .refused:
                    transport.calls.sink(for: callID, isFinal: true)?
                        .fail(RPCError(code: .unavailable, message: "broker \(broker + 1) is not accepting requests"))
                }
            }
        case .stop:
            stopping = true
        }
    }

    private func receiveReplies(broker: Int) throws {
        for _ in 0..<256 {
            guard let message = try sockets[broker].receive(dontWait: true) else { return }
            guard let command = try? Majordomo.ClientCommand(frames: message.frames[...]) else { continue }
            let body: [[UInt8]]
            let isFinal: Bool
            switch command {
            case .partial(_, let replyBody): (body, isFinal) = (replyBody, false)
            case .final(_, let replyBody): (body, isFinal) = (replyBody, true)
            case .request: continue
            }
            guard let header = Envelope.decode(Contactpoint_V1_ReplyHeader.self, from: body[0]) else { continue }
            transport.calls.sink(for: header.callID, isFinal: isFinal)?
                .deliver(header, payload: body.count > 1 ? body[1] : nil, isFinal: isFinal)
        }
    }

    private func handleMonitorEvents(broker: Int) throws {
        while let message = try monitors[broker].receive(dontWait: true) {
            guard let event = MonitorEvent(message) else { continue }
            switch event.kind {
            case .handshakeSucceeded:
                transport.brokers.set(broker, to: .up)
                let waiting = backlog[broker]
                backlog[broker] = []
                for (callID, frames) in waiting where transport.calls.contains(callID) {
                    try perform(.send(callID: callID, broker: broker, frames: frames))
                }
            case .disconnected:
                if transport.brokers.health(of: broker) != .refused { transport.brokers.set(broker, to: .down) }
                failCalls(
                    through: broker,
                    RPCError(code: .unavailable, message: "lost the connection to broker \(broker + 1)"))
            default:
                if !event.kind.isDisjoint(with: .handshakeFailed) {
                    transport.brokers.set(broker, to: .refused)
                    failCalls(
                        through: broker,
                        RPCError(
                            code: .unauthenticated, message: "broker \(broker + 1) refused this process's CURVE key"))
                }
            }
        }
    }

    /// Sends what connected brokers' sockets would not take before; past ``retryWindow`` a request
    /// fails UNAVAILABLE (its broker is connected but takes nothing).
    private func retrySends() throws {
        let now = ContinuousClock.now
        for broker in retrying.indices where !retrying[broker].isEmpty {
            var still: [(callID: UInt64, frames: [[UInt8]], since: ContinuousClock.Instant)] = []
            for request in retrying[broker] where transport.calls.contains(request.callID) {
                if try sockets[broker].send(request.frames, dontWait: true) { continue }
                if now - request.since < Self.retryWindow, transport.brokers.health(of: broker) == .up {
                    still.append(request)
                } else {
                    transport.calls.sink(for: request.callID, isFinal: true)?
                        .fail(RPCError(code: .unavailable, message: "broker \(broker + 1) is not accepting requests"))
                }
            }
            retrying[broker] = still
        }
    }

    private func failCalls(through broker: Int, _ error: RPCError) {
        backlog[broker] = []
        retrying[broker] = []
        for sink in transport.calls.removeAll(sentThrough: broker) { sink.fail(error) }
    }

    private func close() {
        for command in transport.mailbox.close() {
            if case .send(let callID, _, _) = command {
                transport.calls.sink(for: callID, isFinal: true)?.fail(
                    RPCError(code: .unavailable, message: "the bus client stopped"))
            }
        }
        for sink in transport.calls.removeAll() {
            sink.fail(RPCError(code: .unavailable, message: "the bus client stopped"))
        }
        for socket in sockets { socket.stopMonitor() }
        for socket in sockets + monitors { socket.close() }
    }
}
