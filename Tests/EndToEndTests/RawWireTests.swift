import BusProtocol
import ContactPointAPI
import Foundation
import Testing
import ZeroMQ

/// Talks to the real broker executable with plain ZeroMQ sockets and hand-built frames, so the
/// wire format is checked independently of the Swift client transport.
@Suite("Raw MDP/0.2 on the wire", .timeLimit(.minutes(2)))
struct RawWireTests {
    let context: Context

    init() throws {
        context = try Context()
    }

    func dealer(_ cluster: BusCluster, keys: CurveKeyPair? = nil, broker: Int = 0) throws -> Socket {
        let socket = try Socket(
            context: context, kind: .dealer,
            config: .init(
                security: .curveClient(
                    keyPair: keys ?? cluster.clientKeys, serverKey: cluster.brokerAddresses[broker].publicKey)))
        try socket.connect(cluster.brokerAddresses[broker].endpoint)
        return socket
    }

    func receive(_ socket: Socket, within millis: Int = 10_000) throws -> Multipart? {
        var poller = Poller()
        poller.add(socket)
        guard try poller.poll(timeoutMillis: millis) else { return nil }
        return try socket.receive()
    }

    func echoRequestFrames(
        callID: UInt64, text: String, timeoutMicros: UInt64 = 0, claimedPeer: String = "", delayMillis: UInt32 = 0
    ) -> [[UInt8]] {
        var header = Contactpoint_V1_RequestHeader()
        header.callID = callID
        header.method = "/contactpoint.v1.Echo/Get"
        header.timeoutMicros = timeoutMicros
        header.peer = claimedPeer
        var request = Contactpoint_V1_EchoRequest()
        request.text = text
        request.delayMillis = delayMillis
        return [
            Array("MDPC02".utf8), [0x01], Array("contactpoint.v1.Echo".utf8),
            try! header.serializedBytes(), try! request.serializedBytes(),
        ]
    }

    @Test("a hand-written MDP client gets a FINAL with the reply header and the response")
    func rawClient() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let socket = try dealer(cluster)
        try socket.send(echoRequestFrames(callID: 41, text: "by hand", claimedPeer: "forged"))
        let reply = try #require(try receive(socket))
        // Frame by frame, as docs/PROTOCOL.md describes
        #expect(reply.count == 5)
        #expect(reply[0] == Array("MDPC02".utf8))
        #expect(reply[1] == [0x03])
        #expect(reply[2] == Array("contactpoint.v1.Echo".utf8))
        let header = try Contactpoint_V1_ReplyHeader(serializedBytes: reply[3])
        #expect(header.callID == 41)
        #expect(header.statusCode == 0)
        let response = try Contactpoint_V1_EchoResponse(serializedBytes: reply[4])
        #expect(response.text == "by hand")
        #expect(response.servedBy == "echo-1")
        #expect(response.caller == "test-client", "the broker stamps the authenticated peer, not the claimed one")
    }

    @Test(
        """
        deadlines as docs/PROTOCOL.md §6 says: a call whose deadline passes before the worker starts it is not run, \
        and one that outlasts its deadline ends DEADLINE_EXCEEDED with no message (not UNKNOWN, not OK)
        """
    )
    func deadlines() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let socket = try dealer(cluster)
        try socket.send(echoRequestFrames(callID: 1, text: "ready?"))
        _ = try #require(try receive(socket))
        // 1 µs: dispatched at once to the free worker, and over before it can start.
        try socket.send(echoRequestFrames(callID: 2, text: "too late", timeoutMicros: 1))
        let late = try #require(try receive(socket))
        let lateHeader = try Contactpoint_V1_ReplyHeader(serializedBytes: late[3])
        #expect(lateHeader.callID == 2 && lateHeader.statusCode == 4 && late.count == 4, "\(lateHeader)")
        // A handler that would take 2 s, stopped at its 200 ms deadline.
        try socket.send(echoRequestFrames(callID: 3, text: "slow", timeoutMicros: 200_000, delayMillis: 2000))
        let slow = try #require(try receive(socket))
        let slowHeader = try Contactpoint_V1_ReplyHeader(serializedBytes: slow[3])
        #expect(slowHeader.callID == 3 && slowHeader.statusCode == 4 && slow.count == 4, "\(slowHeader)")
    }

    @Test(
        """
        a method is answered only under its own service's name: Health/Check sent to contactpoint.v1.Echo is \
        UNIMPLEMENTED, sent to grpc.health.v1.Health/echo it is answered
        """
    )
    func methodMustMatchService() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let socket = try dealer(cluster)
        try socket.send(echoRequestFrames(callID: 1, text: "ready?"))
        _ = try #require(try receive(socket))
        var header = Contactpoint_V1_RequestHeader()
        header.method = "/grpc.health.v1.Health/Check"
        for (callID, service, expected) in [
            (UInt64(2), "contactpoint.v1.Echo", Int32(12)), (3, "grpc.health.v1.Health/echo", 0),
        ] {
            header.callID = callID
            try socket.send([
                Array("MDPC02".utf8), [0x01], Array(service.utf8), try header.serializedBytes(), [],
            ])
            let reply = try #require(try receive(socket))
            let replyHeader = try Contactpoint_V1_ReplyHeader(serializedBytes: reply[3])
            #expect(replyHeader.callID == callID && replyHeader.statusCode == expected, "\(service): \(replyHeader)")
        }
    }

    @Test("MMI service discovery answers 200 for a served service and 404 for an unknown one")
    func mmi() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let socket = try dealer(cluster)
        // Wait for the worker by a real call first
        try socket.send(echoRequestFrames(callID: 1, text: "ready?"))
        _ = try #require(try receive(socket))
        for (name, expected) in [("contactpoint.v1.Echo", "200"), ("contactpoint.v1.Nothing", "404")] {
            try socket.send([Array("MDPC02".utf8), [0x01], Array("mmi.service".utf8), Array(name.utf8)])
            let reply = try #require(try receive(socket))
            #expect(reply.frames == [Array("MDPC02".utf8), [0x03], Array("mmi.service".utf8), Array(expected.utf8)])
        }
    }

    @Test("garbage frames and a 100 MB message do not crash the broker; it keeps serving")
    func garbageAndHugeMessages() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let attacker = try dealer(cluster)
        let garbage: [[[UInt8]]] = [
            [[0xFF]],
            [Array("MDPC02".utf8)],
            [Array("MDPC02".utf8), [0x01]],
            [Array("MDPC02".utf8), [0x01], Array("contactpoint.v1.Echo".utf8), [0xFF, 0xFF, 0xFF, 0xFF]],
            [Array("MDPC02".utf8), [0x07], Array("x".utf8), []],
            [Array("MDPW02".utf8), [0x04], [1, 2, 3], [], [9]],
            [Array("MDPW02".utf8), [0x01], Array("contactpoint.v1.Echo".utf8)],
            Array(repeating: [0x00], count: 1_000),
        ]
        for frames in garbage { try attacker.send(frames) }
        try attacker.send([
            Array("MDPC02".utf8), [0x01], Array("contactpoint.v1.Echo".utf8),
            [UInt8](repeating: 0x41, count: 100 << 20),
        ])

        let client = try dealer(cluster)
        try client.send(echoRequestFrames(callID: 2, text: "still there?"))
        let reply = try #require(try receive(client))
        #expect(try Contactpoint_V1_EchoResponse(serializedBytes: reply[4]).text == "still there?")
        #expect(cluster.brokerProcesses[0].isRunning)
        #expect(cluster.brokerProcesses[0].text.contains("malformed message dropped"))
    }

    @Test(
        """
        past its share of a busy service's queue a principal is answered RESOURCE_EXHAUSTED naming the share, \
        while another principal's request waits its turn and is served (docs/PROTOCOL.md §5)
        """)
    func shareOfTheQueue() async throws {
        // Brokers hold 64 requests a service, 32 from one principal (BusCluster); one worker of 2 sessions
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let mine = try dealer(cluster)
        try mine.send(echoRequestFrames(callID: 1, text: "ready?"))
        _ = try #require(try receive(mine))
        let flooder = try dealer(cluster, keys: cluster.otherClientKeys)
        for callID: UInt64 in 1...50 {
            try flooder.send(echoRequestFrames(callID: callID, text: "flood", delayMillis: 100))
        }
        var refusals: [String] = []
        while refusals.count < 50 - 2 - 32, let reply = try receive(flooder, within: 2_000) {
            let header = try Contactpoint_V1_ReplyHeader(serializedBytes: reply[3])
            if header.statusCode == 8 { refusals.append(header.statusMessage) }
        }
        #expect(refusals.count == 16, "two dispatched, 32 waiting, the rest refused: \(refusals.count)")
        #expect(
            refusals.allSatisfy { $0.contains("other-client has its share of the queue") }, "\(refusals.first ?? "")")
        try mine.send(echoRequestFrames(callID: 2, text: "my turn"))
        let reply = try #require(try receive(mine))
        #expect(try Contactpoint_V1_ReplyHeader(serializedBytes: reply[3]).statusCode == 0)
        #expect(try Contactpoint_V1_EchoResponse(serializedBytes: reply[4]).text == "my turn")
    }

    @Test(
        """
        a broker stalled past the liveness window (a busy host) reads the heartbeats waiting for it before \
        judging any worker silent: 300 live sessions, more than it reads in one batch, all stay registered
        """)
    func stalledBrokerKeepsLiveWorkers() async throws {
        // A 1 s heartbeat (3 s liveness): this test's own beats, every 150 ms, keep their margin when
        // the machine is busy running the rest of the suite
        let cluster = try await BusCluster.start(brokers: 1, heartbeatMillis: 1_000)
        let echoKeys = try KeyFile.readKeyPair(at: "\(cluster.directory)/echo.key")
        let heartbeat = Majordomo.WorkerCommand.heartbeat.frames
        var sessions: [Socket] = []
        for _ in 0..<300 {
            let session = try dealer(cluster, keys: echoKeys)
            try session.send(Majordomo.WorkerCommand.ready(service: "contactpoint.v1.Echo").frames)
            sessions.append(session)
        }
        func beat(for duration: Duration) async throws {
            let end = ContinuousClock.now + duration
            while ContinuousClock.now < end {
                for session in sessions { try session.send(heartbeat) }
                try await Task.sleep(for: .milliseconds(150))
            }
        }
        let client = try dealer(cluster)
        func registered() throws -> String {
            try client.send([
                Array("MDPC02".utf8), [0x01], Array("mmi.workers".utf8), Array("contactpoint.v1.Echo".utf8),
            ])
            return String(decoding: try #require(try receive(client))[3], as: UTF8.self)
        }
        // Given all 300 registered (beating meanwhile: CURVE handshakes take a while on a busy machine)
        var count = ""
        for _ in 0..<50 where count != "300" {
            try await beat(for: .milliseconds(200))
            count = try registered()
        }
        try #require(count == "300")
        // When the broker is stopped for 4 s (its liveness window is 3 s) while every session keeps
        // beating, so that 300 connections' heartbeats wait in its socket
        let broker = cluster.brokerProcesses[0].pid
        kill(broker, SIGSTOP)
        try await beat(for: .seconds(4))
        kill(broker, SIGCONT)
        try await beat(for: .seconds(2))
        // Then no session was dropped
        #expect(try registered() == "300")
        #expect(!cluster.brokerProcesses[0].text.contains("heartbeat expired"))
    }

    @Test("2,000 junk messages from one peer make a few log lines, not 2,000")
    func junkDoesNotFloodTheLog() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let junk = try dealer(cluster)
        for index in 0..<2_000 { try junk.send([[0xFF, UInt8(index % 256)]]) }
        // A peer's messages are handled in order: once this is answered, the junk has been seen
        try junk.send(echoRequestFrames(callID: 1, text: "after the junk"))
        let reply = try #require(try receive(junk))
        #expect(try Contactpoint_V1_EchoResponse(serializedBytes: reply[4]).text == "after the junk")
        let lines = cluster.brokerProcesses[0].text.components(separatedBy: "malformed message dropped").count - 1
        #expect((1...5).contains(lines), "\(lines) lines for one peer's junk")
    }
}
