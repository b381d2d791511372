import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("Sockets")
struct SocketTests {
    @Test("multipart messages of any size cross a TCP connection whole, on a port read back from bind")
    func multipartOverTCP() throws {
        let context = try Context()
        let server = try Socket(context: context, kind: .router)
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        #expect(!endpoint.hasSuffix(":*"))
        let client = try Socket(
            context: context, kind: .dealer,
            config: {
                var c = Socket.Config()
                c.routingID = [7]
                return c
            }())
        try client.connect(endpoint)

        let big = [UInt8](repeating: 0xAB, count: 3 << 20)
        try client.send([[], [1, 2, 3], big])
        let received = try #require(try server.receive())
        #expect(received.frames == [[7], [], [1, 2, 3], big])
        #expect(try server.receive(dontWait: true) == nil, "nothing else is waiting")
    }

    @Test(
        "CURVE with a ZAP handler: the handler's user id arrives on every message; a refused key gets nothing through")
    func curveWithZAP() throws {
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()

        let zap = try Socket(context: context, kind: .rep)
        try zap.bind("inproc://zeromq.zap.01")
        let server = try Socket(
            context: context, kind: .router,
            config: .init(security: .curveServer(secretKey: serverKeys.secretKey, zapDomain: "test")))
        let endpoint = try server.bind("tcp://127.0.0.1:*")

        func answerZAP() throws {
            var poller = Poller()
            poller.add(zap)
            guard try poller.poll(timeoutMillis: 2000), let request = try zap.receive() else { return }
            let ok = request[6] == allowed.publicKey.bytes
            try zap.send([
                request[0], request[1], Array((ok ? "200" : "400").utf8), [], Array((ok ? "alice" : "").utf8), [],
            ])
        }

        let good = try Socket(
            context: context, kind: .dealer,
            config: .init(security: .curveClient(keyPair: allowed, serverKey: serverKeys.publicKey)))
        try good.connect(endpoint)
        try good.send([Array("hello".utf8)])
        try answerZAP()
        let message = try #require(try server.receive())
        #expect(message.userID == "alice")
        #expect(message.frames.last == Array("hello".utf8))

        let bad = try Socket(
            context: context, kind: .dealer,
            config: .init(security: .curveClient(keyPair: stranger, serverKey: serverKeys.publicKey)))
        try bad.connect(endpoint)
        try bad.send([Array("let me in".utf8)])
        try answerZAP()
        var poller = Poller()
        poller.add(server)
        #expect(try poller.poll(timeoutMillis: 300) == false, "a refused peer's message never arrives")
    }

    @Test("without a ZAP handler a CURVE server refuses everyone (ZAP_ENFORCE_DOMAIN)")
    func enforcedDomain() throws {
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate()
        let server = try Socket(
            context: context, kind: .router,
            config: .init(security: .curveServer(secretKey: serverKeys.secretKey, zapDomain: "test")))
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        let client = try Socket(
            context: context, kind: .dealer,
            config: .init(security: .curveClient(keyPair: try .generate(), serverKey: serverKeys.publicKey)))
        try client.connect(endpoint)
        try client.send([[1]])
        var poller = Poller()
        poller.add(server)
        #expect(try poller.poll(timeoutMillis: 300) == false)
    }

    @Test("errors carry the failing function and a matchable code")
    func typedErrors() throws {
        let context = try Context()
        let socket = try Socket(context: context, kind: .router)
        let endpoint = try socket.bind("tcp://127.0.0.1:*")
        let other = try Socket(context: context, kind: .router)
        let error = #expect(throws: ZeroMQError.self) { try other.bind(endpoint) }
        #expect(error?.code == .addressInUse)
        #expect(error?.function.hasPrefix("zmq_bind") == true)
        socket.close()
        #expect(throws: ZeroMQError.self) { try socket.send([[1]]) }
    }

    @Test("monitor events report a successful handshake")
    func monitor() throws {
        let context = try Context()
        let server = try Socket(context: context, kind: .router)
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        let client = try Socket(context: context, kind: .dealer)
        try client.monitor(at: "inproc://monitor-test", events: [.handshakeSucceeded])
        let monitor = try Socket(context: context, kind: .pair)
        try monitor.connect("inproc://monitor-test")
        try client.connect(endpoint)
        let message = try #require(try monitor.receive())
        let event = try #require(MonitorEvent(message))
        #expect(event.kind == .handshakeSucceeded)
        #expect(event.endpoint == endpoint)
    }
}

@Suite("Socket threads and mailboxes")
struct SocketThreadTests {
    @Test("a socket thread starts after its set-up, drains its mailbox in order, and can be joined")
    func mailboxOrder() async throws {
        let mailbox = try Mailbox<Int>()
        let received = Mutex<[Int]>([])
        let thread = try await SocketThread.start(name: "test") { started in
            started.started()
            var poller = Poller()
            poller.add(fileDescriptor: mailbox.fileDescriptor)
            while true {
                _ = try? poller.poll(timeoutMillis: 1000)
                for value in mailbox.drain() {
                    if value < 0 { return }
                    received.withLock { $0.append(value) }
                }
            }
        }
        for value in 0..<1000 { mailbox.send(value) }
        mailbox.send(-1)
        await thread.join()
        #expect(received.withLock { $0 } == Array(0..<1000))
        _ = mailbox.close()
        #expect(mailbox.send(1) == false, "a closed mailbox refuses commands")
    }

    @Test("a set-up failure is thrown from start")
    func setupFailure() async throws {
        await #expect(throws: ZeroMQError.self) {
            _ = try await SocketThread.start(name: "failing") { started in
                started.failed(ZeroMQError(code: .invalidArgument, function: "test"))
            }
        }
    }

    @Test("the thread carries its name in the kernel (what top -H and perf show), cut to 15 characters")
    func namedInTheKernel() async throws {
        let name = Mutex("")
        let thread = try await SocketThread.start(name: "named-socket-thread") { started in
            name.withLock { $0 = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "" }
            started.started()
        }
        await thread.join()
        #expect(name.withLock { $0 } == "named-socket-th\n")
    }
}

@Suite("Readiness sets")
struct ReadinessSetTests {
    @Test("a socket's signal descriptor fires for input, and only the sockets that fired are reported")
    func firesForInput() throws {
        let context = try Context()
        let server = try Socket(context: context, kind: .router)
        let endpoint = try server.bind("tcp://127.0.0.1:*")
        let quiet = try Socket(context: context, kind: .dealer)
        let client = try Socket(context: context, kind: .dealer)
        try client.connect(endpoint)
        let readiness = try ReadinessSet()
        try readiness.add(server.signalDescriptor(), token: 1)
        try readiness.add(quiet.signalDescriptor(), token: 2)
        #expect(try server.hasInput == false)

        try client.send([[42]])
        // The descriptor fires for connection changes too: wait until the message is there.
        var fired = Set<UInt64>()
        var waits = 0
        while try !server.hasInput, waits < 100 {
            fired.formUnion(try readiness.wait(timeoutMillis: 100))
            waits += 1
        }
        #expect(waits == 0 || fired.contains(1), "the server's descriptor fired before its message was there")
        #expect(!fired.contains(2))
        #expect(try server.hasInput)
        #expect(try server.receive(dontWait: true)?.frames.last == [42])
        #expect(try server.hasInput == false)
    }
}
