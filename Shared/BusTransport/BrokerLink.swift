import BusProtocol
import GRPCCore
import Synchronization
import ZeroMQ

/// A bus client's DEALER socket to one broker, used by two kinds of thread in turn: a caller's
/// task sends its request on it directly, and the client's socket thread receives the replies.
///
/// libzmq sockets are not thread-safe, but a socket may move between threads across a full
/// memory barrier; every use here holds the link's lock, which is one. The socket thread waits
/// for input on ``signalDescriptor`` with epoll, never with `zmq_poll` (which would use the
/// socket outside the lock). Sending from the caller saves a wake-up of the socket thread per
/// request, which on two cores is a large part of a call's latency.
final class BrokerLink: Sendable {
    private struct Guarded {
        /// `nil` once the client has stopped.
        var socket: Socket?
        /// Requests sent while the broker was not connected yet, sent when its handshake succeeds.
        var backlog: [(callID: UInt64, frames: [[UInt8]])] = []
    }

    let broker: Int
    /// libzmq's `ZMQ_FD` for the socket: the socket thread's cue to call ``receive(upTo:)``.
    let signalDescriptor: Int32
    private let guarded: Mutex<Guarded>
    private let calls: PendingCalls
    private let health: BrokerSelector

    init(broker: Int, socket: sending Socket, calls: PendingCalls, health: BrokerSelector) throws {
        self.broker = broker
        self.signalDescriptor = try socket.signalDescriptor()
        self.guarded = Mutex(Guarded(socket: socket))
        self.calls = calls
        self.health = health
    }

    /// Runs `body` on the socket under the lock; throws `.terminated` once the link is closed.
    func withSocket<Result: Sendable>(_ body: (Socket) throws -> Result) throws -> Result {
        try guarded.withLock { guarded in
            guard let socket = guarded.socket else { throw ZeroMQError(code: .terminated, function: "closed broker link") }
            return try body(socket)
        }
    }

    /// Sends a call's request, or queues it while the broker is still connecting, or fails the
    /// call. Returns whether input is waiting that the socket thread must be told of: a send
    /// can consume the signal of a reply that arrived meanwhile.
    func send(callID: UInt64, frames: [[UInt8]]) -> Bool {
        let outcome = guarded.withLock { guarded -> Result<Bool, RPCError> in
            guard let socket = guarded.socket else {
                return .failure(RPCError(code: .unavailable, message: "the bus client has stopped"))
            }
            do {
                if try socket.send(frames, dontWait: true) { return .success(try socket.hasInput) }
            } catch {
                return .failure(RPCError(code: .unavailable, message: "broker \(broker + 1): \(error)"))
            }
            switch health.health(of: broker) {
            case .connecting:
                guarded.backlog.append((callID, frames))
                return .success(false)
            case .up, .down, .refused:
                return .failure(RPCError(code: .unavailable, message: "broker \(broker + 1) is not accepting requests"))
            }
        }
        switch outcome {
        case .success(let inputWaiting):
            return inputWaiting
        case .failure(let error):
            calls.sink(for: callID, isFinal: true)?.fail(error)
            return false
        }
    }

    /// Takes up to `limit` waiting messages; `more` tells whether input is still waiting.
    func receive(upTo limit: Int) throws -> (messages: [Multipart], more: Bool) {
        try withSocket { socket in
            var messages: [Multipart] = []
            while messages.count < limit, let message = try socket.receive(dontWait: true) { messages.append(message) }
            return (messages, try socket.hasInput)
        }
    }

    /// The handshake with the broker succeeded: marks it up and sends the requests that waited
    /// for it (those whose callers still wait), under the lock so no sender queues one after.
    func connected() {
        let failed = guarded.withLock { guarded -> [UInt64] in
            health.set(broker, to: .up)
            let waiting = guarded.backlog
            guarded.backlog = []
            guard let socket = guarded.socket else { return waiting.map(\.callID) }
            return waiting.filter { calls.contains($0.callID) }.compactMap { request in
                ((try? socket.send(request.frames, dontWait: true)) ?? false) ? nil : request.callID
            }
        }
        for callID in failed {
            calls.sink(for: callID, isFinal: true)?
                .fail(RPCError(code: .unavailable, message: "broker \(broker + 1) is not accepting requests"))
        }
    }

    /// The connection is lost (`.down`) or the broker refused this process's key (`.refused`):
    /// every call sent or queued through this broker fails with `error`.
    func lost(becoming state: BrokerSelector.Health, _ error: RPCError) {
        guarded.withLock { guarded in
            if state == .refused || health.health(of: broker) != .refused { health.set(broker, to: state) }
            guarded.backlog = []
        }
        for sink in calls.removeAll(sentThrough: broker) { sink.fail(error) }
    }

    /// Closes the socket (stopping its monitor first); later sends fail the call.
    func close() {
        guarded.withLock { guarded in
            guarded.socket?.stopMonitor()
            guarded.socket?.close()
            guarded.socket = nil
            guarded.backlog = []
        }
    }
}
