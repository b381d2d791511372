import ContactPointAPI
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import ServiceRuntime

/// The peer: grpc-swift-2 over HTTP/2 on loopback, plaintext, with the same handler.
enum HTTP2Scenario {
    static func run<T: Sendable>(
        _ body: @Sendable (Contactpoint_V1_Echo.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [EchoService(instance: "bench")])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            guard let port = try await transport.listeningAddress.ipv4?.port else { fatalError("no port") }
            let result = try await withGRPCClient(
                transport: try .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                try await body(Contactpoint_V1_Echo.Client(wrapping: client))
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }
}

/// GRPCCore with no I/O at all: what the RPC layer itself costs, for reading the other rows.
enum InProcessScenario {
    static func run<T: Sendable>(
        _ body: @Sendable (Contactpoint_V1_Echo.Client<InProcessTransport.Client>) async throws -> T
    ) async throws -> T {
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: [EchoService(instance: "bench")])
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let result = try await withGRPCClient(transport: transport.client) { client in
                try await body(Contactpoint_V1_Echo.Client(wrapping: client))
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }
}
