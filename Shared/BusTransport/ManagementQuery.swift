import BusProtocol
import Foundation
import Timekeeping
public import ZeroMQ

/// Asks one broker MMI questions (RFC 8, plus our `mmi.workers`): whether a service has
/// workers, how many. Used by operators' tools such as `contactpoint status`, not by services.
///
/// The exchange is a few blocking round trips on a socket of its own, run on a thread of its
/// own so that no cooperative thread waits on it.
public struct ManagementQuery: Sendable {
    public var broker: BrokerAddress
    public var keyPair: CurveKeyPair
    public var timeout: Duration = .seconds(2)

    public init(broker: BrokerAddress, keyPair: CurveKeyPair) {
        self.broker = broker
        self.keyPair = keyPair
    }

    /// Answers to `(mmi service, service name)` questions, in order; `nil` where the broker did
    /// not answer in time (it is down or refused this key).
    public func ask(_ questions: [(mmi: String, name: String)]) async -> [String?] {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: askBlocking(questions)) }
        }
    }

    private func askBlocking(_ questions: [(mmi: String, name: String)]) -> [String?] {
        guard let context = try? Context() else { return questions.map { _ in nil } }
        defer { context.shutdown() }
        guard
            let socket = try? Socket(
                context: context, kind: .dealer,
                config: .init(security: .curveClient(keyPair: keyPair, serverKey: broker.publicKey)))
        else { return questions.map { _ in nil } }
        defer { socket.close() }
        guard (try? socket.connect(broker.endpoint)) != nil else { return questions.map { _ in nil } }
        let deadline = ContinuousClock.now + timeout
        var answers: [String?] = []
        for question in questions {
            let request = Majordomo.ClientCommand.request(service: question.mmi, body: [Array(question.name.utf8)])
            guard (try? socket.send(request.frames)) != nil else {
                answers.append(nil)
                continue
            }
            answers.append(receiveAnswer(on: socket, for: question.mmi, until: deadline))
        }
        return answers
    }

    private func receiveAnswer(on socket: Socket, for mmi: String, until deadline: ContinuousClock.Instant) -> String? {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            var poller = Poller()
            poller.add(socket)
            let millis = Int(left.wholeMilliseconds)
            guard (try? poller.poll(timeoutMillis: max(1, millis))) == true, let reply = try? socket.receive() else {
                continue
            }
            // [MDPC02, FINAL, service, answer]
            if reply.count == 4, reply[2] == Array(mmi.utf8) { return String(decoding: reply[3], as: UTF8.self) }
        }
    }
}
