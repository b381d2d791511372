import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Synchronization
import Testing

/// Answers UNAVAILABLE to every other call it gets, as a worker that is going away would.
final class HalfUnavailableEchoService: Contactpoint_V1_Echo.SimpleServiceProtocol, Sendable {
    let calls = Atomic<Int>(0)

    func get(request: Contactpoint_V1_EchoRequest, context: ServerContext) async throws -> Contactpoint_V1_EchoResponse
    {
        if calls.wrappingAdd(1, ordering: .relaxed).oldValue % 2 == 0 {
            throw RPCError(code: .unavailable, message: "going away")
        }
        return .with {
            $0.text = request.text
            $0.payload = request.payload
        }
    }

    func expand(
        request: Contactpoint_V1_EchoRequest, response: RPCWriter<Contactpoint_V1_EchoResponse>, context: ServerContext
    ) async throws {}
}

@Suite("Bus transport: retries", .timeLimit(.minutes(2)))
struct RetryTests {
    @Test("calls retried after UNAVAILABLE carry their request each time, many at once")
    func retriedCallsCarryTheirRequest() async throws {
        let failures = try await InProcessBus.with(
            services: [HalfUnavailableEchoService()], sessionsPerBroker: 8,
            configureClient: {
                $0.retryUnavailable(services: [Contactpoint_V1_Echo.descriptor.fullyQualifiedService], attempts: 5)
            }
        ) { client in
            let echo = Contactpoint_V1_Echo.Client(wrapping: client)
            return try await withThrowingTaskGroup(of: [String].self) { group in
                for caller in 0..<16 {
                    group.addTask {
                        var failures: [String] = []
                        for call in 0..<20 {
                            let text = "\(caller)-\(call)"
                            do {
                                let reply = try await echo.get(
                                    .with {
                                        $0.text = text
                                        $0.payload = Data(repeating: UInt8(call), count: 8_000)
                                    })
                                if reply.text != text { failures.append("\(text): answered \(reply.text)") }
                            } catch let error as RPCError where error.code == .unavailable {
                                // Five attempts all answered "going away": possible, not the bug looked for.
                            } catch {
                                failures.append("\(text): \(error)")
                            }
                        }
                        return failures
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
    }
}

@Suite("Bus transport: retries of named methods", .timeLimit(.minutes(2)))
struct MethodRetryTests {
    /// Calls `Get` on a service that answers UNAVAILABLE to every other call; returns how many failed.
    static func failures(retrying methods: [MethodDescriptor]) async throws -> Int {
        try await InProcessBus.with(
            services: [HalfUnavailableEchoService()], sessionsPerBroker: 2,
            configureClient: { $0.retryUnavailable(methods: methods) }
        ) { client in
            let echo = Contactpoint_V1_Echo.Client(wrapping: client)
            var failed = 0
            for call in 0..<10 {
                do {
                    _ = try await echo.get(.with { $0.text = "\(call)" })
                } catch let error as RPCError where error.code == .unavailable {
                    failed += 1
                }
            }
            return failed
        }
    }

    @Test("a method named for retry is retried after UNAVAILABLE; the service's other methods are not")
    func onlyNamedMethodsRetried() async throws {
        let retried = try await Self.failures(retrying: [Contactpoint_V1_Echo.Method.Get.descriptor])
        #expect(retried == 0)
        let other = try await Self.failures(retrying: [Contactpoint_V1_Echo.Method.Expand.descriptor])
        #expect(other == 5)
    }
}
