public import GRPCCore

/// For a service calling another while handling a practitioner's call: sends the originating
/// practitioner's session token with the outgoing call, so that the service called authorizes
/// on that practitioner's rights — never on the calling service's. A call made outside any
/// practitioner's call goes without a session (and is refused wherever one is required).
public struct OnBehalfOfCallerInterceptor: ClientInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.removeAllValues(forKey: "authorization")
        if let caller = Caller.current {
            request.metadata.addString("Bearer \(caller.token)", forKey: "authorization")
        }
        return try await next(request, context)
    }
}
