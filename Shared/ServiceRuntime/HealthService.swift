public import ContactPointAPI
public import GRPCCore
import Synchronization

/// The standard gRPC health service (`grpc.health.v1.Health`) for one process.
///
/// The empty service name stands for the whole process. Status changes are pushed to every
/// `Watch` stream; a watcher of a name that is not registered sees SERVICE_UNKNOWN until it is.
public final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = [:]
        var watchers: [UInt64: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets the status of `service` ("" for the process) and tells its watchers.
    public func setStatus(_ status: ServingStatus, forService service: String = "") {
        let watchers = state.withLock { state in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Sets every registered service, and the process, to `status`: NOT_SERVING while the
    /// process drains or while a dependency such as its database is unavailable.
    public func setStatusOfAll(_ status: ServingStatus) {
        let watchers = state.withLock { state in
            for service in Array(state.statuses.keys) + [""] { state.statuses[service] = status }
            return state.watchers.values.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// The status of `service` ("" for the process), if it is registered.
    public func status(ofService service: String = "") -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = state.withLock({ $0.statuses[request.service] }) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        let statuses = state.withLock { $0.statuses }
        return .with { response in
            response.statuses = statuses.mapValues { status in .with { $0.status = status } }
        }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (updates, continuation) = AsyncStream.makeStream(of: ServingStatus.self)
        let id = state.withLock { state in
            defer { state.nextWatcher += 1 }
            state.watchers[state.nextWatcher] = (request.service, continuation)
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            return state.nextWatcher
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        for await status in updates {
            try await response.write(.with { $0.status = status })
        }
    }
}
