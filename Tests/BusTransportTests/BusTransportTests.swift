import ContactPointAPI
import Foundation
import GRPCCore
import GRPCProtobuf
import ServiceRuntime
import Synchronization
import TestSupport
import Testing

@testable import BusTransport

/// A service that reports back what its handler saw: for testing what crosses the bus.
struct InspectingEchoService: Contactpoint_V1_Echo.SimpleServiceProtocol {
    func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws -> Contactpoint_V1_EchoResponse
    {
        if request.text == "fail" {
            throw RPCError(code: .permissionDenied, message: "no reason for access given")
        }
        if request.delayMillis > 0 { try await Task.sleep(for: .milliseconds(request.delayMillis)) }
        return .with {
            $0.text = request.text
            $0.payload = request.payload
            $0.caller = context.remotePeer
            $0.servedBy = context.localPeer
        }
    }

    func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {
        for index in 0..<request.repeat {
            try await response.write(
                .with {
                    $0.text = request.text
                    $0.index = index
                })
        }
        if request.text == "fail-after" {
            throw RPCError(code: .aborted, message: "stopped after \(request.repeat)")
        }
    }
}

/// An echo whose `get` waits `delayMillis`, and records how each wait ended: run out, or cut
/// short by its task's cancellation (and then whether its RPC was marked cancelled too).
final class StoppableEcho: Contactpoint_V1_Echo.SimpleServiceProtocol {
    enum Ending: Equatable, Sendable {
        case waited
        case cancelled(rpcMarked: Bool)
    }

    private let record = Mutex<(started: Int, endings: [Ending])>((0, []))
    var started: Int { record.withLock { $0.started } }
    var endings: [Ending] { record.withLock { $0.endings } }

    func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws -> Contactpoint_V1_EchoResponse
    {
        record.withLock { $0.started += 1 }
        do {
            try await Task.sleep(for: .milliseconds(request.delayMillis))
        } catch {
            record.withLock { $0.endings.append(.cancelled(rpcMarked: context.cancellation.isCancelled)) }
            throw error
        }
        record.withLock { $0.endings.append(.waited) }
        return .with { $0.text = request.text }
    }

    func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {}

    /// Waits until `count` calls have ended.
    func waitForEndings(_ count: Int) async throws {
        try await eventually("\(count) calls ended", every: .milliseconds(10)) { endings.count >= count }
    }
}

/// Echoes request metadata back as trailing metadata, to see exactly what arrived.
struct MetadataMirror: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Contactpoint_V1_Echo.Method.Get.descriptor,
            deserializer: ProtobufDeserializer<Contactpoint_V1_EchoRequest>(),
            serializer: ProtobufSerializer<Contactpoint_V1_EchoResponse>()
        ) { request, context in
            let metadata = request.metadata
            return StreamingServerResponse(
                single: ServerResponse(
                    message: Contactpoint_V1_EchoResponse(), metadata: [:], trailingMetadata: metadata))
        }
    }
}

@Suite("Bus transports over a real broker", .timeLimit(.minutes(1)))
struct BusTransportTests {
    @Test("a unary call crosses the bus; the handler sees the caller the broker authenticated")
    func unary() async throws {
        let reply = try await InProcessBus.with(services: [InspectingEchoService()]) { client in
            try await Contactpoint_V1_Echo.Client(wrapping: client).get(
                .with {
                    $0.text = "hello"
                    $0.payload = Data(repeating: 7, count: 100_000)
                })
        }
        #expect(reply.text == "hello")
        #expect(reply.payload == Data(repeating: 7, count: 100_000))
        #expect(reply.caller == "test-client")
        #expect(reply.servedBy == "test-server-1")
    }

    @Test("request metadata reaches the handler; a caller cannot forge the bus peer key")
    func metadata() async throws {
        let trailers = try await InProcessBus.with(services: [MetadataMirror()]) { client in
            var metadata: Metadata = ["x-reason-for-access": "section 47 enquiry", "x-token-bin": .binary([0, 1, 2])]
            metadata.addString("someone-else", forKey: "x-bus-peer")
            return try await Contactpoint_V1_Echo.Client(wrapping: client).get(
                request: ClientRequest(message: Contactpoint_V1_EchoRequest(), metadata: metadata)
            ) { response in
                try response.accepted.get().trailingMetadata
            }
        }
        #expect(Array(trailers[stringValues: "x-reason-for-access"]) == ["section 47 enquiry"])
        #expect(Array(trailers[binaryValues: "x-token-bin"]) == [[0, 1, 2]])
        #expect(Array(trailers[stringValues: "x-bus-peer"]) == ["test-client"])
        #expect(Array(trailers[stringValues: "x-bus-attempt"]) == ["1"])
    }

    @Test("server streaming delivers every message in order, then the status")
    func serverStreaming() async throws {
        let (texts, indices) = try await InProcessBus.with(services: [InspectingEchoService()]) { client in
            try await Contactpoint_V1_Echo.Client(wrapping: client).expand(
                .with {
                    $0.text = "tick"
                    $0.repeat = 50
                }
            ) { response in
                var texts: [String] = []
                var indices: [UInt32] = []
                for try await message in response.messages {
                    texts.append(message.text)
                    indices.append(message.index)
                }
                return (texts, indices)
            }
        }
        #expect(texts == Array(repeating: "tick", count: 50))
        #expect(indices == Array(0..<50))
    }

    @Test("a stream that fails after some messages delivers them, then the error")
    func streamingFailure() async throws {
        let (count, error) = try await InProcessBus.with(services: [InspectingEchoService()]) { client in
            try await Contactpoint_V1_Echo.Client(wrapping: client).expand(
                .with {
                    $0.text = "fail-after"
                    $0.repeat = 3
                }
            ) { response in
                var count = 0
                do {
                    for try await _ in response.messages { count += 1 }
                    return (count, RPCError?.none)
                } catch let error as RPCError {
                    return (count, error)
                }
            }
        }
        #expect(count == 3)
        #expect(error?.code == .aborted)
        #expect(error?.message == "stopped after 3")
    }

    @Test("a handler's error reaches the caller with its code and message")
    func handlerError() async throws {
        let error = try await InProcessBus.with(services: [InspectingEchoService()]) { client in
            await #expect(throws: RPCError.self) {
                try await Contactpoint_V1_Echo.Client(wrapping: client).get(.with { $0.text = "fail" })
            }
        }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message == "no reason for access given")
    }

    @Test("a call to a method the server does not have is UNIMPLEMENTED")
    func unknownMethod() async throws {
        let error = try await InProcessBus.with(services: [InspectingEchoService(), MetadataMirror()].suffix(1)) {
            client in
            await #expect(throws: RPCError.self) {
                try await Contactpoint_V1_Echo.Client(wrapping: client).expand(.with { $0.repeat = 1 }) { response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(error?.code == .unimplemented)
    }

    @Test("the caller's deadline ends a slow call with DEADLINE_EXCEEDED")
    func deadline() async throws {
        let (error, elapsed) = try await InProcessBus.with(services: [InspectingEchoService()]) { client in
            let echo = Contactpoint_V1_Echo.Client(wrapping: client)
            _ = try await echo.get(.with { $0.text = "warm-up" })
            var options = CallOptions.defaults
            options.timeout = .milliseconds(200)
            let started = ContinuousClock.now
            let error = await #expect(throws: RPCError.self) {
                try await echo.get(.with { $0.delayMillis = 5_000 }, options: options)
            }
            return (error, started.duration(to: .now))
        }
        #expect(error?.code == .deadlineExceeded)
        // Ended by the deadline, not by the handler's 5 s: a margin for a loaded machine, not a timing target.
        #expect(elapsed < .milliseconds(4_500))
    }

    @Test("past the caller's deadline the server stops the call: its RPC and its handler's task are cancelled")
    func deadlineStopsHandler() async throws {
        let echo = StoppableEcho()
        try await InProcessBus.with(services: [echo]) { client in
            let client = Contactpoint_V1_Echo.Client(wrapping: client)
            _ = try await client.get(.with { $0.text = "warm-up" })
            // Time enough to reach the handler on a loaded machine (a request whose deadline passes
            // in the broker is never dispatched).
            var options = CallOptions.defaults
            options.timeout = .seconds(2)
            await #expect(throws: RPCError.self) {
                try await client.get(.with { $0.delayMillis = 30_000 }, options: options)
            }
            // Not cancelled, the handler would go on waiting for 28 s more.
            try await echo.waitForEndings(2)
        }
        #expect(echo.endings == [.waited, .cancelled(rpcMarked: true)])
    }

    @Test("graceful shutdown cancels a call still running when the grace period is over")
    func gracePeriod() async throws {
        let echo = StoppableEcho()
        let error = try await InProcessBus.withServer(services: [echo]) { client, server in
            let client = Contactpoint_V1_Echo.Client(wrapping: client)
            return try await withThrowingTaskGroup(of: RPCError?.self) { group in
                group.addTask {
                    await #expect(throws: RPCError.self) { try await client.get(.with { $0.delayMillis = 5_000 }) }
                }
                try await eventually("the call reaches the handler", every: .milliseconds(10)) { echo.started > 0 }
                server.beginGracefulShutdown()
                return try await group.next()!
            }
        }
        #expect(echo.endings == [.cancelled(rpcMarked: true)])
        #expect(error != nil)
    }

    @Test("a call that fails out of withGRPCClient's body ends the client and the server too (they are cancelled)")
    func failureLeavesScope() async throws {
        // Before the fix this never returned: the suite's time limit is what fails it.
        let error = await #expect(throws: RPCError.self) {
            try await InProcessBus.with(services: [InspectingEchoService()]) { client in
                let echo = Contactpoint_V1_Echo.Client(wrapping: client)
                var options = CallOptions.defaults
                options.timeout = .milliseconds(200)
                // The error leaves the body: withGRPCClient cancels the transport instead of shutting it down
                return try await echo.get(.with { $0.delayMillis = 5_000 }, options: options)
            }
        }
        #expect(error?.code == .deadlineExceeded)
    }

    @Test("many calls in flight at once each get their own reply")
    func concurrentCalls() async throws {
        // What is under test is that each reply reaches its own call, not how fast 8 workers drain
        // 200 calls: on a loaded machine the last may wait longer than the broker's 5 s default
        // for a free worker.
        let replies = try await InProcessBus.with(
            services: [InspectingEchoService()], sessionsPerBroker: 8,
            configureBroker: { $0.routing.unroutableTimeout = .seconds(60) }
        ) { client in
            let echo = Contactpoint_V1_Echo.Client(wrapping: client)
            // Given the server's sessions registered (on a loaded machine that can take longer
            // than the broker holds a request for a service with no worker)
            var ready = false
            for _ in 0..<30 where !ready { ready = (try? await echo.get(.with { $0.text = "warm-up" })) != nil }
            #expect(ready)
            return try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<200 {
                    group.addTask { (index, try await echo.get(.with { $0.text = "call-\(index)" }).text) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
        }
        #expect(replies.count == 200)
        #expect(replies.allSatisfy { $0.value == "call-\($0.key)" })
    }

    @Test("health checking answers over the bus")
    func health() async throws {
        let health = HealthService()
        health.setStatus(.serving)
        health.setStatus(.notServing, forService: "contactpoint.v1.Index")
        let (overall, index) = try await InProcessBus.with(services: [health]) { client in
            let checker = Grpc_Health_V1_Health.Client(wrapping: client)
            return (
                try await checker.check(.with { $0.service = "" }).status,
                try await checker.check(.with { $0.service = "contactpoint.v1.Index" }).status
            )
        }
        #expect(overall == .serving)
        #expect(index == .notServing)
    }
}

@Suite("grpc-timeout values")
struct GRPCTimeoutTests {
    @Test(
        "what GRPCCore's client writes is read",
        arguments: [("200m", 200_000), ("1S", 1_000_000), ("5H", 18_000_000_000), ("1500n", 1)] as [(String, UInt64)])
    func clientValues(value: String, micros: UInt64) {
        #expect(GRPCTimeout.micros(from: value) == micros)
    }
}

@Suite("Health service")
struct HealthServiceTests {
    @Test("watch streams the current status, then each change")
    func watch() async throws {
        let health = HealthService()
        health.setStatus(.serving, forService: "contactpoint.v1.Index")
        let statuses = try await InProcessBus.with(services: [health]) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).watch(
                .with { $0.service = "contactpoint.v1.Index" }
            ) { response in
                var seen: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                for try await update in response.messages {
                    seen.append(update.status)
                    if seen.count == 1 { health.setStatus(.notServing, forService: "contactpoint.v1.Index") }
                    if seen.count == 2 { break }
                }
                return seen
            }
        }
        #expect(statuses == [.serving, .notServing])
    }

    @Test("an unknown service is NOT_FOUND for check")
    func unknown() async throws {
        let error = try await InProcessBus.with(services: [HealthService()]) { client in
            await #expect(throws: RPCError.self) {
                try await Grpc_Health_V1_Health.Client(wrapping: client).check(.with { $0.service = "nope" })
            }
        }
        #expect(error?.code == .notFound)
    }
}

@Suite("Served calls")
struct ServedCallsTests {
    /// Starts call `id` and returns whether its task and its RPC were cancelled as it began.
    func start(_ id: UInt64, _ calls: ServedCalls) async -> (task: Bool, rpc: Bool) {
        await withCheckedContinuation { began in
            calls.start(id) {
                await withServerContextRPCCancellationHandle { rpc in
                    calls.attach(rpc, to: id)
                    began.resume(returning: (Task.isCancelled, rpc.isCancelled))
                }
                calls.finished(id)
            }
        }
    }

    @Test("a call whose deadline passed before its task started is cancelled as it starts; the others are not")
    func cancelledBeforeStart() async {
        let calls = ServedCalls()
        calls.cancel(2)
        #expect(await start(1, calls) == (false, false))
        #expect(await start(2, calls) == (true, true))
        #expect(await start(3, calls) == (false, false))
        // Cancelling a call that has ended changes nothing for the next.
        calls.cancel(3)
        #expect(await start(4, calls) == (false, false))
        await calls.waitForAll()
    }
}
