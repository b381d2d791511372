import Authentication
import ContactPointAPI
import Foundation
import GRPCCore
import GRPCInProcessTransport
import SecurityPrimitives
import Testing

/// A service that, for each call, calls the echo service behind it and reports whom that
/// service saw as the caller: the shape of one ContactPoint service calling another.
struct RelayService: Contactpoint_V1_Echo.SimpleServiceProtocol {
    let downstream: Contactpoint_V1_Echo.Client<InProcessTransport.Client>

    func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws -> Contactpoint_V1_EchoResponse
    {
        try await downstream.get(request)
    }

    func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {}
}

/// Answers with the practitioner its authentication interceptor saw.
struct WhoCalledService: Contactpoint_V1_Echo.SimpleServiceProtocol {
    func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws -> Contactpoint_V1_EchoResponse
    {
        let caller = try Caller.required()
        return .with { $0.caller = caller.practitionerID }
    }

    func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {}
}

@Suite("Calls on a practitioner's behalf", .timeLimit(.minutes(1)))
struct OnBehalfOfCallerTests {
    @Test("a service calling another passes on the originating practitioner, not itself")
    func forwardsCaller() async throws {
        let key = Ed25519.PrivateKey.generate()
        let now = Int64(Date().timeIntervalSince1970)
        let claims = SessionClaims(
            sub: "p-42", sid: "s-1", org: "org-1", la: "E09000033", roles: ["practitioner"], iat: now, exp: now + 900,
            stepUpAt: now)
        let token = try CompactJWS.sign(payload: Array(try JSONEncoder().encode(claims)), keyID: "k1", with: key)
        let verifier = SessionVerifier()
        verifier.trust(keys: ["k1": key.publicKey])
        let interceptor = AuthenticationInterceptor(verifier: verifier)

        let back = InProcessTransport()
        let front = InProcessTransport()
        let backServer = GRPCServer(transport: back.server, services: [WhoCalledService()], interceptors: [interceptor])
        let seen = try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await backServer.serve() }
            defer { backServer.beginGracefulShutdown() }
            return try await withGRPCClient(transport: back.client, interceptors: [OnBehalfOfCallerInterceptor()]) {
                backClient in
                let frontServer = GRPCServer(
                    transport: front.server, services: [RelayService(downstream: .init(wrapping: backClient))],
                    interceptors: [interceptor])
                group.addTask { try await frontServer.serve() }
                defer { frontServer.beginGracefulShutdown() }
                return try await withGRPCClient(transport: front.client) { frontClient in
                    let echo = Contactpoint_V1_Echo.Client(wrapping: frontClient)
                    let withSession = try await echo.get(.init(), metadata: ["authorization": "Bearer \(token)"])
                    let without = await #expect(throws: RPCError.self) { try await echo.get(.init()) }
                    return (withSession.caller, without?.code)
                }
            }
        }
        #expect(seen.0 == "p-42", "the service behind saw the originating practitioner")
        #expect(seen.1 == .unauthenticated)
    }
}
