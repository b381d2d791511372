import BusProtocol
import ContactPointAPI
import GRPCCore
import Synchronization

/// Where the replies of one client call go: yields GRPCCore response parts into the stream the
/// caller reads. Thread-safe: the client's socket thread delivers, the caller's writer may fail.
final class ResponseSink: Sendable {
    private let continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation
    private let sentInitialMetadata = Atomic<Bool>(false)

    init(continuation: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation) {
        self.continuation = continuation
    }

    /// Delivers one PARTIAL or FINAL. A failed FINAL before any other reply is delivered as a
    /// trailers-only response (status alone), as gRPC does.
    func deliver(_ header: Contactpoint_V1_ReplyHeader, payload: [UInt8]?, isFinal: Bool) {
        let status = Status(
            code: Status.Code(rawValue: Int(header.statusCode)) ?? .unknown, message: header.statusMessage)
        let trailersOnly = isFinal && payload == nil && status.code != .ok
        if !trailersOnly, !sentInitialMetadata.exchange(true, ordering: .relaxed) {
            continuation.yield(.metadata(Envelope.metadata(header.initialMetadata)))
        }
        if let payload { continuation.yield(.message(payload)) }
        if isFinal {
            continuation.yield(.status(status, Envelope.metadata(header.trailingMetadata)))
            continuation.finish()
        }
    }

    func fail(_ error: RPCError) {
        continuation.yield(.status(Status(code: Status.Code(error.code), message: error.message), error.metadata))
        continuation.finish()
    }
}

/// The client calls awaiting replies, by call id, with the broker each was sent through.
final class PendingCalls: Sendable {
    struct Entry: Sendable {
        var sink: ResponseSink
        var broker: Int
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    func insert(_ callID: UInt64, _ entry: Entry) {
        entries.withLock { $0[callID] = entry }
    }

    func remove(_ callID: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: callID) }
    }

    /// The sink for a reply; a FINAL also ends the call's entry.
    func sink(for callID: UInt64, isFinal: Bool) -> ResponseSink? {
        entries.withLock { isFinal ? $0.removeValue(forKey: callID)?.sink : $0[callID]?.sink }
    }

    func contains(_ callID: UInt64) -> Bool {
        entries.withLock { $0[callID] != nil }
    }

    /// Removes and returns every call sent through `broker`.
    func removeAll(sentThrough broker: Int) -> [ResponseSink] {
        entries.withLock { entries in
            let lost = entries.filter { $0.value.broker == broker }
            for callID in lost.keys { entries.removeValue(forKey: callID) }
            return lost.values.map(\.sink)
        }
    }

    func removeAll() -> [ResponseSink] {
        entries.withLock { entries in
            defer { entries.removeAll() }
            return entries.values.map(\.sink)
        }
    }

    var isEmpty: Bool { entries.withLock { $0.isEmpty } }
}

/// Which brokers a client can send through, updated from socket monitor events.
final class BrokerSelector: Sendable {
    enum Health: Sendable, Equatable {
        /// Not yet connected: calls wait for the connection.
        case connecting
        case up
        /// Was connected and lost the connection: not chosen while another broker is up.
        case down
        /// Refused our key: never chosen until a handshake succeeds.
        case refused
    }

    private struct State {
        var health: [Health]
        var next = 0
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(health: Array(repeating: .connecting, count: count)))
    }

    func set(_ broker: Int, to health: Health) {
        state.withLock { $0.health[broker] = health }
    }

    func health(of broker: Int) -> Health {
        state.withLock { $0.health[broker] }
    }

    /// Round-robin over the brokers that are up; failing that, one still connecting.
    func choose() -> Result<Int, RPCError> {
        state.withLock { state in
            let count = state.health.count
            let start = state.next
            state.next = (state.next + 1) % count
            for preferred in [Health.up, .connecting] {
                for offset in 0..<count where state.health[(start + offset) % count] == preferred {
                    return .success((start + offset) % count)
                }
            }
            if state.health.allSatisfy({ $0 == .refused }) {
                return .failure(
                    RPCError(code: .unauthenticated, message: "every broker refused this process's CURVE key"))
            }
            return .failure(RPCError(code: .unavailable, message: "no broker is reachable"))
        }
    }
}
