import BusProtocol
import ContactPointAPI
import GRPCCore
import Synchronization

/// The outbound half of one client call: collects the request's metadata and single message,
/// and when the caller finishes writing, encodes the MDP REQUEST and hands it to the transport.
final class RequestWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCRequestPart<[UInt8]>

    private struct Collected {
        var metadata = Metadata()
        var message: [UInt8]?
        var finished = false
    }

    private let callID: UInt64
    private let descriptor: MethodDescriptor
    private let responses: ResponseSink
    private let transport: BusClientTransport
    private let collected = Mutex(Collected())
    /// When the call began: its timeout is measured from here.
    private let started = ContinuousClock.now

    init(
        callID: UInt64, descriptor: MethodDescriptor,
        responses: AsyncThrowingStream<RPCResponsePart<[UInt8]>, any Error>.Continuation,
        transport: BusClientTransport
    ) {
        self.callID = callID
        self.descriptor = descriptor
        self.responses = ResponseSink(continuation: responses)
        self.transport = transport
    }

    func write(_ element: Element) async throws {
        let tooMany = collected.withLock { collected -> Bool in
            switch element {
            case .metadata(let metadata):
                collected.metadata = metadata
                return false
            case .message(let message):
                defer { collected.message = message }
                return collected.message != nil
            }
        }
        if tooMany {
            let error = RPCError(code: .unimplemented, message: "client streaming is not supported on the bus")
            responses.fail(error)
            throw error
        }
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async {
        let request = collected.withLock { collected -> Collected? in
            guard !collected.finished else { return nil }
            collected.finished = true
            return collected
        }
        guard let request else { return }
        guard let message = request.message else {
            let attempts =
                request.metadata[stringValues: "grpc-previous-rpc-attempts"].first(where: { _ in true }) ?? "0"
            responses.fail(
                RPCError(
                    code: .internalError,
                    message: "the call ended without a request message (previous attempts: \(attempts))"))
            return
        }
        guard let header = header(for: request.metadata) else {
            // The deadline passed before the request could be sent (a busy machine): a caller
            // that has given up must not have its call run after all.
            responses.fail(
                RPCError(code: .deadlineExceeded, message: "the deadline passed before the request was sent"))
            return
        }
        transport.send(
            callID: callID, service: descriptor.service.fullyQualifiedService,
            body: [Envelope.encode(header), message], responses: responses)
    }

    func finish(throwing error: any Error) async {
        collected.withLock { $0.finished = true }
        responses.fail(RPCError(code: .cancelled, message: "the caller abandoned the request: \(error)"))
    }

    /// The request header, or `nil` if the call's timeout has already run out.
    private func header(for metadata: Metadata) -> Contactpoint_V1_RequestHeader? {
        var metadata = metadata
        var header = Contactpoint_V1_RequestHeader()
        header.callID = callID
        header.method = "/\(descriptor.fullyQualifiedMethod)"
        if let timeout = metadata[stringValues: GRPCTimeout.key].first(where: { _ in true }) {
            // The timeout counts from the start of the call, not from now: what is left of it.
            // GRPCCore writes a negative value, which does not parse, when its deadline has
            // already passed as it writes the request: that too means "too late", never "no deadline".
            guard let budget = GRPCTimeout.micros(from: timeout) else { return nil }
            let elapsed = UInt64(started.duration(to: .now) / .microseconds(1))
            guard budget > elapsed else { return nil }
            header.timeoutMicros = budget - elapsed
            metadata.removeAllValues(forKey: GRPCTimeout.key)
        }
        let previous = metadata[stringValues: "grpc-previous-rpc-attempts"].first(where: { _ in true }).flatMap {
            UInt32($0)
        }
        header.attempt = (previous ?? 0) + 1
        header.metadata = Envelope.entries(metadata)
        return header
    }
}
