import BusProtocol
import ContactPointAPI
import GRPCCore
import Testing

/// The broker's routing decisions, driven message by message with a hand-held clock.
@Suite("Broker state machine")
struct BrokerCoreTests {
    let service = "contactpoint.v1.Echo"
    let start = ContinuousClock.now
    var core: BrokerCore

    init() {
        var config = BrokerCore.Config()
        config.heartbeatInterval = .milliseconds(100)
        config.heartbeatLiveness = 3
        config.maxQueuedPerService = 2
        config.unroutableTimeout = .seconds(1)
        core = BrokerCore(config: config, now: start) { principal, service in
            principal.hasPrefix("worker") && service != "forbidden.Service"
        }
    }

    // MARK: Helpers

    func request(callID: UInt64, timeoutMicros: UInt64 = 0, claimedPeer: String = "", session: String? = nil)
        -> [[UInt8]]
    {
        var header = Contactpoint_V1_RequestHeader()
        header.callID = callID
        header.method = "/\(service)/Get"
        header.timeoutMicros = timeoutMicros
        header.peer = claimedPeer
        if let session { header.metadata = [.with { ($0.key, $0.text) = ("authorization", session) }] }
        return Majordomo.ClientCommand.request(service: service, body: [Envelope.encode(header), [0x42]]).frames
    }

    mutating func send(_ frames: [[UInt8]], from identity: [UInt8], peer: String, at offset: Duration = .zero)
        -> [BrokerCore.Action]
    {
        var actions: [BrokerCore.Action] = []
        core.receive([identity] + frames, peer: peer, now: start + offset, into: &actions)
        return actions
    }

    mutating func tick(at offset: Duration) -> [BrokerCore.Action] {
        var actions: [BrokerCore.Action] = []
        core.tick(now: start + offset, into: &actions)
        return actions
    }

    func sentFrames(_ actions: [BrokerCore.Action]) -> [[[UInt8]]] {
        actions.compactMap { if case .send(let frames) = $0 { frames } else { nil } }
    }

    /// The status a client got in a FINAL, decoded from its reply header.
    func finalStatus(_ frames: [[UInt8]]) -> (callID: UInt64, code: Status.Code)? {
        guard case .final(_, let body)? = try? Majordomo.ClientCommand(frames: frames[1...]),
            let header = Envelope.decode(Contactpoint_V1_ReplyHeader.self, from: body[0])
        else { return nil }
        return (header.callID, Status.Code(rawValue: Int(header.statusCode))!)
    }

    func dispatchedHeader(_ frames: [[UInt8]]) -> Contactpoint_V1_RequestHeader? {
        guard case .request(_, let body)? = try? Majordomo.WorkerCommand(frames: frames[1...]) else { return nil }
        return Envelope.decode(Contactpoint_V1_RequestHeader.self, from: body[0])
    }

    // MARK: Routing

    @Test("a request goes to an idle worker, with the authenticated peer stamped over the client's claim")
    mutating func dispatchStampsPeer() throws {
        // Given a registered worker
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        // When a client claiming to be someone else sends a request
        let actions = send(request(callID: 7, claimedPeer: "worker-a"), from: [9], peer: "client-x")
        // Then the worker gets it, and the header names the real client
        let frames = try #require(sentFrames(actions).first)
        #expect(frames[0] == [1])
        let header = try #require(dispatchedHeader(frames))
        #expect(header.callID == 7)
        #expect(header.peer == "client-x")
        #expect(core.callsInFlight == 1)
    }

    @Test("workers are used least recently used first, one call at a time")
    mutating func leastRecentlyUsed() throws {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [2], peer: "worker-b")
        let first = sentFrames(send(request(callID: 1), from: [9], peer: "c"))
        let second = sentFrames(send(request(callID: 2), from: [9], peer: "c"))
        let third = sentFrames(send(request(callID: 3), from: [9], peer: "c"))
        #expect(first.first?[0] == [1])
        #expect(second.first?[0] == [2])
        #expect(third.isEmpty, "both workers are busy, so the third request waits")
        #expect(core.queuedRequests(for: service) == 1)

        // When worker 2 finishes, it takes the waiting request, and the reply reaches the client
        let reply = Majordomo.WorkerCommand.final(client: [9], body: [[0x01], [0x02]]).frames
        let afterReply = sentFrames(send(reply, from: [2], peer: "worker-b"))
        #expect(afterReply.count == 2)
        #expect(
            afterReply[0] == [[9]] + Majordomo.ClientCommand.final(service: service, body: [[0x01], [0x02]]).frames)
        #expect(afterReply[1][0] == [2])
        #expect(try #require(dispatchedHeader(afterReply[1])).callID == 3)
    }

    @Test("PARTIAL replies are forwarded and keep the worker busy until FINAL")
    mutating func partialReplies() {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = send(request(callID: 1), from: [9], peer: "c")
        let partial = sentFrames(
            send(Majordomo.WorkerCommand.partial(client: [9], body: [[1]]).frames, from: [1], peer: "worker-a"))
        #expect(partial == [[[9]] + Majordomo.ClientCommand.partial(service: service, body: [[1]]).frames])
        #expect(core.callsInFlight == 1)
        _ = send(Majordomo.WorkerCommand.final(client: [9], body: [[2]]).frames, from: [1], peer: "worker-a")
        #expect(core.callsInFlight == 0)
    }

    // MARK: Failure

    @Test("when a worker holding a call disconnects, its caller gets UNAVAILABLE at once")
    mutating func workerDisconnectFailsCall() throws {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = send(request(callID: 5), from: [9], peer: "c")
        let actions = sentFrames(send(Majordomo.WorkerCommand.disconnect.frames, from: [1], peer: "worker-a"))
        let status = try #require(actions.compactMap(finalStatus).first)
        #expect(status.callID == 5)
        #expect(status.code == .unavailable)
        #expect(core.workerCount == 0)
    }

    @Test("a silent worker is purged after liveness × interval, failing its call with UNAVAILABLE")
    mutating func heartbeatExpiry() throws {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = send(request(callID: 5), from: [9], peer: "c")
        // Heartbeats go out each interval while the worker is alive
        let beats = sentFrames(tick(at: .milliseconds(100)))
        #expect(beats == [[[1]] + Majordomo.WorkerCommand.heartbeat.frames])
        #expect(core.workerCount == 1)
        // Silent for 3 intervals (the broker ticking each one): purged, and the caller is told
        _ = tick(at: .milliseconds(200))
        let expired = sentFrames(tick(at: .milliseconds(301)))
        #expect(core.workerCount == 0)
        #expect(expired.compactMap(finalStatus).map(\.code) == [.unavailable])
    }

    @Test("any command from a worker counts as a heartbeat")
    mutating func heartbeatRefreshes() {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = send(Majordomo.WorkerCommand.heartbeat.frames, from: [1], peer: "worker-a", at: .milliseconds(250))
        for millis in stride(from: 100, through: 500, by: 100) { _ = tick(at: .milliseconds(millis)) }
        #expect(core.workerCount == 1)
        _ = tick(at: .milliseconds(551))
        #expect(core.workerCount == 0)
    }

    @Test("after a stall of its own (a tick more than an interval late) the broker gives workers a whole window")
    mutating func stallIsNotTheWorkersSilence() {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        _ = tick(at: .milliseconds(100))
        // The broker does not run for 2 s: the worker's heartbeats wait unread
        _ = tick(at: .milliseconds(2_100))
        #expect(core.workerCount == 1, "not purged for the broker's own silence")
        // Heard from within the window, it stays; silent for a whole window after the stall, it goes
        _ = send(Majordomo.WorkerCommand.heartbeat.frames, from: [1], peer: "worker-a", at: .milliseconds(2_150))
        for millis in stride(from: 2_200, through: 2_400, by: 100) { _ = tick(at: .milliseconds(millis)) }
        #expect(core.workerCount == 1)
        _ = tick(at: .milliseconds(2_451))
        #expect(core.workerCount == 0)
    }

    @Test("a request whose deadline passes while queued is never dispatched: DEADLINE_EXCEEDED")
    mutating func expiredDeadlineNotDispatched() throws {
        // Given a request with a 50 ms deadline and no worker yet
        _ = send(request(callID: 3, timeoutMicros: 50_000), from: [9], peer: "c")
        // When a worker registers after the deadline (before any tick expired it)
        let actions = sentFrames(
            send(
                Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a",
                at: .milliseconds(60)))
        // Then the client gets DEADLINE_EXCEEDED and the worker gets nothing
        #expect(actions.count == 1)
        #expect(try #require(finalStatus(actions[0])).code == .deadlineExceeded)
        #expect(core.callsInFlight == 0)
    }

    @Test("the timeout forwarded to the worker is what remains of the deadline")
    mutating func remainingTimeout() throws {
        _ = send(request(callID: 3, timeoutMicros: 100_000), from: [9], peer: "c")
        let actions = sentFrames(
            send(
                Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a",
                at: .milliseconds(30)))
        let header = try #require(dispatchedHeader(actions[0]))
        #expect(header.timeoutMicros == 70_000)
    }

    @Test("ticks expire queued requests: DEADLINE_EXCEEDED, or UNAVAILABLE when no worker comes")
    mutating func tickExpiresQueue() {
        _ = send(request(callID: 1, timeoutMicros: 50_000), from: [9], peer: "c")
        _ = send(request(callID: 2), from: [9], peer: "c")
        let first = sentFrames(tick(at: .milliseconds(60))).compactMap(finalStatus)
        #expect(first.map(\.callID) == [1])
        #expect(first.map(\.code) == [.deadlineExceeded])
        let second = sentFrames(tick(at: .milliseconds(1001))).compactMap(finalStatus)
        #expect(second.map(\.callID) == [2])
        #expect(second.map(\.code) == [.unavailable])
    }

    @Test("the next tick is when a queued request expires, if that is before the next heartbeat")
    mutating func tickAtQueuedDeadline() {
        #expect(core.nextTick == start + .milliseconds(100))
        _ = send(request(callID: 1, timeoutMicros: 30_000), from: [9], peer: "c", at: .milliseconds(10))
        #expect(core.nextTick == start + .milliseconds(40))
        #expect(sentFrames(tick(at: .milliseconds(40))).compactMap(finalStatus).map(\.code) == [.deadlineExceeded])
        #expect(core.nextTick == start + .milliseconds(100))
    }

    @Test("a full service queue answers RESOURCE_EXHAUSTED")
    mutating func boundedQueue() throws {
        _ = send(request(callID: 1), from: [9], peer: "c")
        _ = send(request(callID: 2), from: [9], peer: "c")
        let actions = sentFrames(send(request(callID: 3), from: [9], peer: "c"))
        let status = try #require(actions.compactMap(finalStatus).first)
        #expect(status.callID == 3)
        #expect(status.code == .resourceExhausted)
        #expect(core.queuedRequests(for: service) == 2)
    }

    @Test("callers take turns for a busy service: a flooding principal does not hold back another")
    mutating func fairShare() throws {
        var config = BrokerCore.Config()
        config.maxQueuedPerPrincipal = 4
        config.maxQueuedPerSession = 2
        core = BrokerCore(config: config, now: start) { principal, _ in principal.hasPrefix("worker") }
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        // Given a gateway that fills its share of the queue behind the one worker
        for callID: UInt64 in 1...5 { _ = send(request(callID: callID), from: [8], peer: "gateway") }
        let refused = sentFrames(send(request(callID: 6), from: [8], peer: "gateway")).compactMap(finalStatus)
        #expect(refused.map(\.code) == [.resourceExhausted])
        // and a portal whose one session has two waiting, a third refused, and another session one
        _ = send(request(callID: 10, session: "Bearer a"), from: [9], peer: "portal")
        _ = send(request(callID: 11, session: "Bearer a"), from: [9], peer: "portal")
        let sessionRefused = sentFrames(send(request(callID: 12, session: "Bearer a"), from: [9], peer: "portal"))
        #expect(sessionRefused.compactMap(finalStatus).map(\.callID) == [12])
        _ = send(request(callID: 13, session: "Bearer b"), from: [9], peer: "portal")
        #expect(core.queuedRequests(for: service) == 7)

        // When the worker answers call after call, the principals and the portal's sessions take turns
        var order: [UInt64] = []
        var holding: [UInt8] = [8]
        for _ in 0..<7 {
            let reply = Majordomo.WorkerCommand.final(client: holding, body: [[0x01]]).frames
            for frames in sentFrames(send(reply, from: [1], peer: "worker-a")) where frames[0] == [1] {
                guard case .request(let client, _)? = try? Majordomo.WorkerCommand(frames: frames[1...]) else {
                    continue
                }
                holding = client
                order.append(try #require(dispatchedHeader(frames)).callID)
            }
        }
        #expect(order == [2, 10, 3, 13, 4, 11, 5])
    }

    // MARK: Security and protocol errors

    @Test("a principal not allowed to serve a service is sent DISCONNECT and never registered")
    mutating func unauthorizedWorker() {
        let actions = send(
            Majordomo.WorkerCommand.ready(service: "forbidden.Service").frames, from: [1], peer: "worker-a")
        #expect(sentFrames(actions) == [[[1]] + Majordomo.WorkerCommand.disconnect.frames])
        #expect(actions.contains(.report(.workerRefused(service: "forbidden.Service", peer: "worker-a"))))
        let client = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [2], peer: "client-x")
        #expect(sentFrames(client) == [[[2]] + Majordomo.WorkerCommand.disconnect.frames])
        #expect(core.workerCount == 0)
    }

    @Test("a worker replying to a call it does not hold is disconnected; the reply goes nowhere")
    mutating func forgedReply() {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        let actions = sentFrames(
            send(Majordomo.WorkerCommand.final(client: [9], body: [[1]]).frames, from: [1], peer: "worker-a"))
        #expect(actions == [[[1]] + Majordomo.WorkerCommand.disconnect.frames])
        #expect(core.workerCount == 0)
    }

    @Test("garbage is dropped and reported, and changes nothing")
    mutating func garbage() {
        for frames: [[UInt8]] in [
            [], [[0xFF]], [Array("MDPC02".utf8), [0x01], Array("s".utf8), [0xFF, 0xFF, 0xFF]], [Array("MDPC02".utf8)],
        ] {
            let actions = send(frames, from: [9], peer: "c")
            #expect(sentFrames(actions).isEmpty)
            #expect(actions.allSatisfy { if case .report(.malformedMessage) = $0 { true } else { false } })
        }
        #expect(core.queuedRequests(for: "s") == 0)
    }

    // MARK: MMI

    @Test("mmi.service answers 200 for a service with workers, 404 otherwise; mmi.workers counts them")
    mutating func mmi() {
        _ = send(Majordomo.WorkerCommand.ready(service: service).frames, from: [1], peer: "worker-a")
        let known = sentFrames(
            send(
                Majordomo.ClientCommand.request(service: "mmi.service", body: [Array(service.utf8)]).frames, from: [9],
                peer: "c"))
        #expect(
            known == [[[9]] + Majordomo.ClientCommand.final(service: "mmi.service", body: [Array("200".utf8)]).frames])
        let unknown = sentFrames(
            send(
                Majordomo.ClientCommand.request(service: "mmi.service", body: [Array("nope".utf8)]).frames, from: [9],
                peer: "c"))
        #expect(
            unknown == [[[9]] + Majordomo.ClientCommand.final(service: "mmi.service", body: [Array("404".utf8)]).frames]
        )
        let count = sentFrames(
            send(
                Majordomo.ClientCommand.request(service: "mmi.workers", body: [Array(service.utf8)]).frames, from: [9],
                peer: "c"))
        #expect(
            count == [[[9]] + Majordomo.ClientCommand.final(service: "mmi.workers", body: [Array("1".utf8)]).frames])
        let other = sentFrames(
            send(Majordomo.ClientCommand.request(service: "mmi.echo", body: [[]]).frames, from: [9], peer: "c"))
        #expect(other == [[[9]] + Majordomo.ClientCommand.final(service: "mmi.echo", body: [Array("501".utf8)]).frames])
    }
}
