import BusTransport
import ContactPointAPI
import GRPCCore
import Logging
import Synchronization
import TestSupport
import Testing
import ZeroMQ

@testable import ServiceRuntime

/// An outbox in memory: events 1…N, and what was marked delivered.
final class MemoryOutbox: AuditOutbox {
    private let state: Mutex<(events: [Int64], deliveredThrough: Int64)>

    init(count: Int64) { state = Mutex((Array(1...count), 0)) }

    var deliveredThrough: Int64 { state.withLock { $0.deliveredThrough } }

    func undeliveredAuditEvents(limit: Int) async throws -> [(sequence: Int64, event: Contactpoint_V1_AuditEvent)] {
        state.withLock { state in
            state.events.filter { $0 > state.deliveredThrough }.prefix(limit).map { sequence in
                (sequence, .with { $0.eventID = "event-\(sequence)" })
            }
        }
    }

    func markAuditEventsDelivered(through sequence: Int64) async throws {
        state.withLock { $0.deliveredThrough = sequence }
    }
}

@Suite("Audit forwarder", .timeLimit(.minutes(1)))
struct AuditForwarderTests {
    @Test(
        """
        delivers the outbox in order, in batches; a failed append is retried and nothing is marked delivered \
        before it succeeds
        """
    )
    func retriesUntilAcknowledged() async throws {
        let outbox = MemoryOutbox(count: 7)
        let keys = try CurveKeyPair.generate()
        var forwarder = AuditForwarder(
            outbox: outbox,
            // Never connected: the test hands `deliver` its own append.
            client: try ServiceSettings(
                service: "test", brokers: [BrokerAddress(endpoint: "tcp://127.0.0.1:9", publicKey: keys.publicKey)],
                keyPair: keys, instance: "test-1"
            )
            .makeBusClient(logger: Logger(label: "test")),
            instance: "test-1", logger: Logger(label: "test"))
        forwarder.batchSize = 3
        forwarder.idleInterval = .milliseconds(5)
        forwarder.initialBackoff = .milliseconds(5)
        let calls = Mutex<(failuresLeft: Int, received: [[String]], markedBeforeSuccess: [Int64])>((2, [], []))
        let loop = Task {
            await forwarder.deliver { events in
                try calls.withLock { calls in
                    if calls.failuresLeft > 0 {
                        calls.failuresLeft -= 1
                        calls.markedBeforeSuccess.append(outbox.deliveredThrough)
                        throw RPCError(code: .unavailable, message: "audit is down")
                    }
                    #expect(events.allSatisfy { $0.instance == "test-1" })
                    calls.received.append(events.map(\.eventID))
                }
            }
        }
        try await eventually("all 7 events delivered", every: .milliseconds(5)) { outbox.deliveredThrough >= 7 }
        loop.cancel()
        await loop.value
        let result = calls.withLock { $0 }
        #expect(result.markedBeforeSuccess == [0, 0], "nothing was marked while the audit service failed")
        #expect(
            result.received == [["event-1", "event-2", "event-3"], ["event-4", "event-5", "event-6"], ["event-7"]])
        #expect(outbox.deliveredThrough == 7)
    }
}
