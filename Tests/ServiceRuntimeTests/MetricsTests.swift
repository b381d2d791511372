import ContactPointAPI
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Prometheus
import ServiceLifecycle
import ServiceRuntime
import Testing

@Suite("Metrics for Prometheus", .timeLimit(.minutes(1)))
struct MetricsTests {
    @Test("calls are counted by method and status code, timed, and served at /metrics")
    func callsCountedAndServed() async throws {
        let registry = PrometheusCollectorRegistry()
        let health = HealthService()
        health.setStatus(.serving)
        let transport = InProcessTransport()
        let server = GRPCServer(
            transport: transport.server, services: [EchoService(instance: "test"), health],
            interceptors: [RPCMetricsInterceptor(factory: PrometheusMetricsFactory(registry: registry))])
        let endpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, registry: registry)

        let scraped = try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            // When two calls succeed and one fails
            try await withGRPCClient(transport: transport.client) { client in
                let echo = Contactpoint_V1_Echo.Client(wrapping: client)
                _ = try await echo.get(.with { $0.text = "one" })
                _ = try await echo.get(.with { $0.text = "two" })
                await #expect(throws: RPCError.self) {
                    try await Grpc_Health_V1_Health.Client(wrapping: client).check(.with { $0.service = "nothing" })
                }
            }
            server.beginGracefulShutdown()
            let serviceGroup = ServiceGroup(services: [endpoint], logger: .init(label: "test"))
            group.addTask { try await serviceGroup.run() }
            let page = try await httpGet(port: endpoint.port, path: "/metrics")
            let missing = try await httpGet(port: endpoint.port, path: "/other")
            await serviceGroup.triggerGracefulShutdown()
            return (page, missing)
        }

        // Then the page counts each outcome and has a latency histogram
        #expect(scraped.0.hasPrefix("HTTP/1.1 200 OK"))
        #expect(scraped.0.contains(#"rpc_server_calls_total{method="contactpoint.v1.Echo/Get",code="ok"} 2"#))
        #expect(scraped.0.contains(#"rpc_server_calls_total{method="grpc.health.v1.Health/Check",code="notFound"} 1"#))
        #expect(scraped.0.contains(#"rpc_server_call_duration_seconds_count{method="contactpoint.v1.Echo/Get"} 2"#))
        #expect(!scraped.0.contains("one"), "no message content in metrics")
        #expect(scraped.1.hasPrefix("HTTP/1.1 404"))
    }

    @Test("a port already in use fails when the endpoint is created, not later")
    func portInUse() throws {
        let first = try MetricsEndpoint(host: "127.0.0.1", port: 0, registry: PrometheusCollectorRegistry())
        #expect(throws: MetricsEndpointError.self) {
            try MetricsEndpoint(host: "127.0.0.1", port: first.port, registry: PrometheusCollectorRegistry())
        }
    }
}

/// A plain HTTP/1.1 GET over a socket: the whole response, head and body.
func httpGet(port: Int, path: String) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                continuation.resume(throwing: POSIXError(.ECONNREFUSED))
                return
            }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
            _ = send(fd, request, request.count, 0)
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                response += buffer.prefix(count)
            }
            continuation.resume(returning: String(decoding: response, as: UTF8.self))
        }
    }
}
