import BusTransport
import ContactPointAPI
import Foundation
import SwiftProtobuf
import ZeroMQ

/// Load as an agency gateway built on the C SDK would send it: plain MDP/0.2 requests on one
/// DEALER socket with CURVE (docs/PROTOCOL.md), no GRPCCore on the calling side. On two cores
/// the GRPCCore load generator shares the CPU with the broker and the index; this one thread
/// costs far less per call, so the rate it sees is closer to what the service side can serve.
struct RawMDPClients: Sendable {
    /// One call: the method path and its encoded request.
    struct Call: Sendable {
        var method: String
        var payload: [UInt8]
    }

    struct Outcome: Sendable {
        var completed: Int
        var failed: Int
        var seconds: Double
        var firstFailure: String?
        var perSecond: Double { Double(completed) / seconds }
    }

    var broker: BrokerAddress
    var keyPair: CurveKeyPair
    var authorization: String

    /// Keeps `inFlight` calls outstanding for `duration`, taking calls from `calls` in turn.
    func run(_ calls: [Call], inFlight: Int, duration: Duration) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try runOnThisThread(calls, inFlight: inFlight, duration: duration) })
            }.start()
        }
    }

    private func runOnThisThread(_ calls: [Call], inFlight: Int, duration: Duration) throws -> Outcome {
        let context = try Context()
        let socket = try Socket(
            context: context, kind: .dealer,
            config: .init(security: .curveClient(keyPair: keyPair, serverKey: broker.publicKey)))
        defer { socket.close() }
        try socket.connect(broker.endpoint)
        var authorizationEntry = Contactpoint_V1_MetadataEntry()
        authorizationEntry.key = "authorization"
        authorizationEntry.text = authorization
        var nextCall: UInt64 = 0
        func send() throws {
            let call = calls[Int(nextCall % UInt64(calls.count))]
            nextCall += 1
            var header = Contactpoint_V1_RequestHeader()
            header.callID = nextCall
            header.method = call.method
            header.attempt = 1
            header.timeoutMicros = 10_000_000
            header.metadata = [authorizationEntry]
            let service = String(call.method.split(separator: "/")[0])
            try socket.send([
                Array("MDPC02".utf8), [0x01], Array(service.utf8), try header.serializedBytes(), call.payload,
            ])
        }
        for _ in 0..<inFlight { try send() }
        var outcome = Outcome(completed: 0, failed: 0, seconds: 0)
        let start = ContinuousClock.now
        let end = start + duration
        var outstanding = inFlight
        while outstanding > 0 {
            guard let reply = try socket.receive() else { continue }
            outstanding -= 1
            // "MDPC02" | 03 (FINAL) | service | ReplyHeader | payload
            let header = reply.count >= 4 ? try? Contactpoint_V1_ReplyHeader(serializedBytes: reply[3]) : nil
            if let header, header.statusCode == 0, reply.count == 5 {
                outcome.completed += 1
            } else {
                outcome.failed += 1
                if outcome.firstFailure == nil {
                    outcome.firstFailure =
                        header.map { "status \($0.statusCode): \($0.statusMessage)" } ?? "malformed reply"
                }
            }
            if ContinuousClock.now < end {
                try send()
                outstanding += 1
            }
        }
        outcome.seconds = start.duration(to: .now) / .seconds(1)
        return outcome
    }
}
