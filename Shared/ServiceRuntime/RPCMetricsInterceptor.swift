public import CoreMetrics
public import GRPCCore

/// Records every call a server handles through swift-metrics: `rpc_server_calls_total` by method
/// and status code, and `rpc_server_call_duration_seconds` (a histogram) by method, from the
/// call's arrival to its final status — after the last message for a stream.
///
/// Labels carry the method and code only: never a caller, a token or anything from a message.
public struct RPCMetricsInterceptor: ServerInterceptor {
    private let factory: any MetricsFactory

    /// Records into `factory` (a Prometheus registry's factory, say) rather than the global
    /// metrics system, so that nothing else in the process needs bootstrapping.
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        let start = ContinuousClock.now
        let response: StreamingServerResponse<Output>
        do {
            response = try await next(request, context)
        } catch {
            record(method: method, code: Self.code(of: error), since: start)
            throw error
        }
        switch response.accepted {
        case .failure(let error):
            record(method: method, code: error.code.description, since: start)
            return response
        case .success(var contents):
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    record(method: method, code: Status.Code.ok.description, since: start)
                    return trailers
                } catch {
                    record(method: method, code: Self.code(of: error), since: start)
                    throw error
                }
            }
            return StreamingServerResponse(accepted: .success(contents))
        }
    }

    private static func code(of error: any Error) -> String {
        ((error as? any RPCErrorConvertible)?.rpcErrorCode ?? .unknown).description
    }

    private func record(method: String, code: String, since start: ContinuousClock.Instant) {
        Counter(label: "rpc_server_calls_total", dimensions: [("method", method), ("code", code)], factory: factory)
            .increment()
        let elapsed = (ContinuousClock.now - start).components
        Timer(label: "rpc_server_call_duration_seconds", dimensions: [("method", method)], factory: factory)
            .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }
}
