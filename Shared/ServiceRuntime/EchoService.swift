public import ContactPointAPI
public import GRPCCore

/// The diagnostic echo service: answers with what it was sent, which instance answered and
/// whom the bus authenticated as the caller. `contactpoint-echo` serves it; operators call it
/// with `contactpoint echo` to check a bus end to end.
public struct EchoService: Contactpoint_V1_Echo.SimpleServiceProtocol {
    public let instance: String

    public init(instance: String) {
        self.instance = instance
    }

    public func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws
        -> Contactpoint_V1_EchoResponse
    {
        if request.delayMillis > 0 { try await Task.sleep(for: .milliseconds(request.delayMillis)) }
        return .with {
            $0.text = request.text
            $0.payload = request.payload
            $0.servedBy = instance
            $0.caller = context.remotePeer
        }
    }

    public func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {
        for index in 0..<request.repeat {
            if index > 0, request.delayMillis > 0 { try await Task.sleep(for: .milliseconds(request.delayMillis)) }
            try await response.write(
                .with {
                    $0.text = request.text
                    $0.servedBy = instance
                    $0.caller = context.remotePeer
                    $0.index = index
                })
        }
    }
}
