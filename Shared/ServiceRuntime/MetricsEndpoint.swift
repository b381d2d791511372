import Foundation
import NamedThreads
public import Prometheus
public import ServiceLifecycle

/// Serves the process's metrics for Prometheus: `GET /metrics` over plain HTTP/1.1 on a local
/// port, in the text exposition format. Anything else gets 404.
///
/// Scrapes are rare and tiny, so one dedicated thread accepts and answers them one at a time
/// with blocking sockets; the cooperative thread pool never waits on it. It binds before
/// `run()` so that a port in use fails the start, not a later scrape.
public final class MetricsEndpoint: Service, Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The port bound (the one chosen by the system when asked for port 0).
    public let port: Int
    private let listener: Int32

    /// Binds `host:port` (IPv4) and starts listening.
    public init(host: String, port: Int, registry: PrometheusCollectorRegistry) throws {
        self.registry = registry
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsEndpointError(operation: "socket", errno: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw MetricsEndpointError(operation: "parse address \(host)", errno: EINVAL)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw MetricsEndpointError(operation: "bind \(host):\(port)", errno: code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd
    }

    public func run() async throws {
        Thread.start(named: "metrics-endpoint") { [self] in acceptLoop() }
        // Until shutdown: closing the listening socket ends the accept loop.
        try? await gracefulShutdown()
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(listener)
                return
            }
            answer(connection)
            close(connection)
        }
    }

    private func answer(_ connection: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8](repeating: 0, count: 4096)
        let count = recv(connection, &request, request.count, 0)
        guard count > 0 else { return }
        let firstLine = String(decoding: request.prefix(count).prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        let (status, body): (String, [UInt8]) =
            firstLine.hasPrefix("GET /metrics ")
            ? ("200 OK", registry.emitToBuffer()) : ("404 Not Found", Array("not found\n".utf8))
        let head =
            """
            HTTP/1.1 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \
            \(body.count)\r\nConnection: close\r\n\r\n
            """
        let response = Array(head.utf8) + body
        var sent = 0
        while sent < response.count {
            let written = response[sent...].withUnsafeBytes {
                send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            sent += written
        }
    }
}

public struct MetricsEndpointError: Error, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var description: String { "metrics endpoint: \(operation) failed: \(String(cString: strerror(errno)))" }
}
