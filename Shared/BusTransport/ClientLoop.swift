import BusProtocol
import ContactPointAPI
import GRPCCore
import Logging
import ZeroMQ

/// The socket thread of a ``BusClientTransport``: receives the replies on every broker link
/// (callers send their requests themselves, see ``BrokerLink``), watches each link's monitor
/// for connection changes, and takes the transport's mailbox commands.
final class ClientLoop {
    private let transport: BusClientTransport
    private let monitors: [Socket]
    /// Waits on the mailbox (token 0), each link's socket (token `2 × broker + 1`) and each
    /// monitor (token `2 × broker + 2`).
    private let readiness: ReadinessSet
    /// Links that may have replies waiting: their descriptor fired, a batch was cut short, or a
    /// sender found input after its send.
    private var maybeReadable = Set<Int>()
    private var stopping = false

    init(transport: BusClientTransport) throws {
        self.transport = transport
        readiness = try ReadinessSet()
        try readiness.add(transport.mailbox.fileDescriptor, token: 0)
        var monitors: [Socket] = []
        for link in transport.links {
            let endpoint = "inproc://bus-client-monitor-\(ObjectIdentifier(transport).hashValue)-\(link.broker)"
            try link.withSocket { try $0.monitor(at: endpoint, events: [.handshakeSucceeded, .disconnected, .handshakeFailed]) }
            let monitor = try Socket(context: transport.context, kind: .pair)
            try monitor.connect(endpoint)
            try readiness.add(link.signalDescriptor, token: UInt64(2 * link.broker + 1))
            try readiness.add(try monitor.signalDescriptor(), token: UInt64(2 * link.broker + 2))
            let brokerEndpoint = transport.config.brokers[link.broker].endpoint
            try link.withSocket { try $0.connect(brokerEndpoint) }
            monitors.append(monitor)
            maybeReadable.insert(link.broker)
        }
        self.monitors = monitors
    }

    func run() {
        defer { close() }
        do {
            for broker in monitors.indices { try handleMonitorEvents(broker: broker) }
            while !(stopping && transport.calls.isEmpty) {
                // While draining, wake now and then to see whether the last call has ended.
                let timeout: Int32 = !maybeReadable.isEmpty ? 0 : stopping ? 20 : -1
                for token in try readiness.wait(timeoutMillis: timeout) {
                    if token == 0 {
                        for command in transport.mailbox.drain() { perform(command) }
                    } else if token % 2 == 1 {
                        maybeReadable.insert(Int(token / 2))
                    } else {
                        try handleMonitorEvents(broker: Int(token / 2) - 1)
                    }
                }
                let candidates = maybeReadable
                maybeReadable.removeAll(keepingCapacity: true)
                for broker in candidates { try receiveReplies(broker: broker) }
            }
        } catch {
            Logger(label: "contactpoint.bus.client").critical("bus client loop failed", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ command: BusClientTransport.Command) {
        switch command {
        case .inputWaiting(let broker): maybeReadable.insert(broker)
        case .stop: stopping = true
        }
    }

    private func receiveReplies(broker: Int) throws {
        let (messages, more) = try transport.links[broker].receive(upTo: 256)
        if more { maybeReadable.insert(broker) }
        for message in messages {
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

    /// Reads the monitor until it is empty, which also re-arms its descriptor.
    private func handleMonitorEvents(broker: Int) throws {
        let link = transport.links[broker]
        while let message = try monitors[broker].receive(dontWait: true) {
            guard let event = MonitorEvent(message) else { continue }
            switch event.kind {
            case .handshakeSucceeded:
                link.connected()
            case .disconnected:
                link.lost(becoming: .down, RPCError(code: .unavailable, message: "lost the connection to broker \(broker + 1)"))
            default:
                if !event.kind.isDisjoint(with: .handshakeFailed) {
                    link.lost(
                        becoming: .refused,
                        RPCError(code: .unauthenticated, message: "broker \(broker + 1) refused this process's CURVE key"))
                }
            }
        }
    }

    private func close() {
        _ = transport.mailbox.close()
        for link in transport.links { link.close() }
        for sink in transport.calls.removeAll() { sink.fail(RPCError(code: .unavailable, message: "the bus client stopped")) }
        for monitor in monitors { monitor.close() }
    }
}
