public import GRPCCore
import Vocabulary

/// Turns the session token in a call's `authorization: Bearer …` metadata into the ``Caller``
/// its handler sees, or ends the call with UNAUTHENTICATED. Methods in `publicMethods` (login,
/// say) pass without a token; methods in `sessionOptionalMethods` pass without one too (the
/// handler then authorizes on the bus principal), but a token they carry must be valid.
public struct AuthenticationInterceptor: ServerInterceptor {
    public let verifier: SessionVerifier
    public let publicMethods: Set<String>
    public let sessionOptionalMethods: Set<String>

    /// - Parameters: fully qualified method names (`pkg.Service/Method`).
    public init(verifier: SessionVerifier, publicMethods: Set<String> = [], sessionOptionalMethods: Set<String> = []) {
        self.verifier = verifier
        self.publicMethods = publicMethods
        self.sessionOptionalMethods = sessionOptionalMethods
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if publicMethods.contains(context.descriptor.fullyQualifiedMethod) {
            return try await next(request, context)
        }
        var values = request.metadata[stringValues: "authorization"].makeIterator()
        let header = values.next()
        if header == nil, sessionOptionalMethods.contains(context.descriptor.fullyQualifiedMethod) {
            return try await next(request, context)
        }
        guard let header, header.hasPrefix("Bearer ")
        else {
            throw RPCError(code: .unauthenticated, message: "this call needs a session: log in first")
        }
        let token = String(header.dropFirst("Bearer ".count))
        let claims: SessionClaims
        do {
            claims = try verifier.verify(token)
        } catch {
            throw RPCError(code: .unauthenticated, message: error.description)
        }
        try Self.requireRoute(of: claims, peer: context.remotePeer)
        let caller = Caller(claims: claims, token: token, route: context.remotePeer)
        var response = try await Caller.$current.withValue(caller) { try await next(request, context) }
        // A streamed response runs after this returns: it needs the caller too.
        if case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in try await Caller.$current.withValue(caller) { try await producer(writer) } }
            response = StreamingServerResponse(accepted: .success(contents))
        }
        return response
    }

    /// A session granted through an agency gateway works through that gateway only, and a
    /// gateway may use no session but one granted through it: a token taken from one agency's
    /// system is useless from another's, and a gateway cannot act with a session of the command
    /// line or the portal. (Services call each other with a caller's token: their principals are
    /// never gateways', so a gateway's session passes on from service to service.)
    public static func requireRoute(of claims: SessionClaims, peer: String) throws {
        let peerIsGateway = GatewayPrincipal(peer) != nil
        if let gateway = claims.gateway, peerIsGateway, gateway != peer {
            throw RPCError(code: .unauthenticated, message: "this session was granted through another agency's system")
        }
        if claims.gateway == nil, peerIsGateway {
            throw RPCError(
                code: .unauthenticated,
                message: "an agency system may use only sessions its practitioners signed in to through it")
        }
    }
}
