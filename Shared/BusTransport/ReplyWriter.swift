import BusProtocol
import ContactPointAPI
import GRPCCore
import Synchronization
import ZeroMQ

/// The outbound half of one served call: turns GRPCCore response parts into MDP PARTIAL and
/// FINAL commands for the worker session that holds the call.
///
/// For a unary method it holds the response message back until the status comes, so the
/// response travels as a single FINAL carrying both. A streaming method's messages go out as
/// PARTIALs as soon as they are written.
///
/// A call that ends after its deadline ends DEADLINE_EXCEEDED, whatever its handler answered
/// (a handler stopped at the deadline would otherwise end UNKNOWN or CANCELLED): the caller has
/// stopped waiting, and every caller, a raw MDP client included, hears the same code.
final class ReplyWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<[UInt8]>

    private struct State {
        var initialMetadata = Metadata()
        var held: [UInt8]?
        var sentFirstReply = false
        var sentFinal = false
    }

    private let call: BusServerTransport.IncomingCall
    private let mailbox: Mailbox<BusServerTransport.Command>
    private let isUnary: Bool
    private let state = Mutex(State())

    init(call: BusServerTransport.IncomingCall, isUnary: Bool, mailbox: Mailbox<BusServerTransport.Command>) {
        self.call = call
        self.isUnary = isUnary
        self.mailbox = mailbox
    }

    func write(_ element: Element) async throws {
        let command = state.withLock { state -> BusServerTransport.Command? in
            guard !state.sentFinal else { return nil }
            switch element {
            case .metadata(let metadata):
                state.initialMetadata = metadata
                return nil
            case .message(let message) where isUnary:
                state.held = message
                return nil
            case .message(let message):
                return reply(&state, payload: message, status: nil, trailers: [:])
            case .status(let status, let trailers):
                state.sentFinal = true
                defer { state.held = nil }
                if let deadline = call.deadline, deadline <= .now {
                    return reply(
                        &state, payload: nil,
                        status: Status(code: .deadlineExceeded, message: "the deadline passed before the call ended"),
                        trailers: [:])
                }
                return reply(&state, payload: state.held, status: status, trailers: trailers)
            }
        }
        if let command { mailbox.send(command) }
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async {}

    func finish(throwing error: any Error) async {
        await fail(RPCError(code: .internalError, message: "the handler failed: \(error)"))
    }

    /// Ends the call with `error` unless a status was already sent.
    func fail(_ error: RPCError) async {
        try? await write(.status(Status(code: Status.Code(error.code), message: error.message), error.metadata))
    }

    private func reply(_ state: inout State, payload: [UInt8]?, status: Status?, trailers: Metadata)
        -> BusServerTransport.Command
    {
        var header = Contactpoint_V1_ReplyHeader()
        header.callID = call.header.callID
        if !state.sentFirstReply {
            header.initialMetadata = Envelope.entries(state.initialMetadata)
            state.sentFirstReply = true
        }
        if let status {
            header.statusCode = Int32(status.code.rawValue)
            header.statusMessage = status.message
            header.trailingMetadata = Envelope.entries(trailers)
        }
        let body = [Envelope.encode(header)] + (payload.map { [$0] } ?? [])
        let command: Majordomo.WorkerCommand =
            status == nil ? .partial(client: call.client, body: body) : .final(client: call.client, body: body)
        return .reply(
            session: call.session, generation: call.generation, frames: command.frames, isFinal: status != nil)
    }
}
