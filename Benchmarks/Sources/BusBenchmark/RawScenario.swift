import BenchmarkSupport
import Foundation
import Synchronization
import ZeroMQ

/// The floor: the same hop (client → broker → worker → broker → client) with plain libzmq
/// sockets, CURVE and a ZAP handler as on the bus, and no Swift RPC layer: each party is a
/// thread in a tight loop with its own context (its own libzmq I/O thread), as the separate
/// processes of a deployment have.
final class RawScenario: Sendable {
    private let brokerContext: Context
    private let workerContext: Context
    private let clientContext: Context
    private let brokerKeys: CurveKeyPair
    private let peerKeys: CurveKeyPair
    private let stop = Atomic<Bool>(false)
    private let endpoint: Mutex<String?> = Mutex(nil)
    /// Set once the broker has the worker's READY: until then it would drop requests.
    private let workerReady = Atomic<Bool>(false)
    private let callRequested = DispatchSemaphore(value: 0)
    private let timedCallsReady = Atomic<Bool>(false)
    private let pendingCall = Mutex<CheckedContinuation<Duration, Never>?>(nil)

    init() throws {
        brokerContext = try Context()
        workerContext = try Context()
        clientContext = try Context()
        brokerKeys = try CurveKeyPair.generate()
        peerKeys = try CurveKeyPair.generate()
    }

    func start() async throws {
        try await Self.onThread { [self] in
            try runBroker()
        } ready: { [self] in
            endpoint.withLock { $0 != nil }
        }
        try await Self.onThread { [self] in
            try runWorker()
        } ready: { [self] in
            workerReady.load(ordering: .acquiring)
        }
    }

    func shutdown() {
        stop.store(true, ordering: .relaxed)
        callRequested.signal()
    }

    /// One raw round trip, timed on the raw client's own thread — to interleave with calls of
    /// another transport, so that both meet the machine in the same state. (On this kind of
    /// shared VM an idle core wakes slowly, and how slowly changes from minute to minute: the
    /// raw floor measured alone ranged from 137 to 336 µs between runs.)
    func timedCall() async -> Duration {
        await withCheckedContinuation { continuation in
            pendingCall.withLock { $0 = continuation }
            callRequested.signal()
        }
    }

    /// Starts the thread that serves ``timedCall()``, its socket warmed up.
    func startTimedCalls() async throws {
        try await Self.onThread { [self] in
            let socket = try clientSocket()
            let payload = [UInt8](repeating: 0x61, count: 64)
            for _ in 0..<200 {
                try socket.send([payload])
                _ = try socket.receive()
            }
            timedCallsReady.store(true, ordering: .releasing)
            let clock = ContinuousClock()
            while true {
                callRequested.wait()
                guard !stop.load(ordering: .relaxed) else { return }
                let elapsed = try clock.measure {
                    try socket.send([payload])
                    _ = try socket.receive()
                }
                pendingCall.withLock { $0.take() }?.resume(returning: elapsed)
            }
        } ready: { [self] in
            timedCallsReady.load(ordering: .acquiring)
        }
    }

    /// Keeps `inFlight` requests outstanding on one socket for `duration`.
    func throughput(inFlight: Int, duration: Duration) async throws -> Double {
        try await Self.measure { [self] in
            let socket = try clientSocket()
            let payload = [UInt8](repeating: 0x61, count: 64)
            for _ in 0..<inFlight { try socket.send([payload]) }
            var completed = 0
            let start = ContinuousClock.now
            let end = start + duration
            while ContinuousClock.now < end {
                _ = try socket.receive()
                completed += 1
                try socket.send([payload])
            }
            for _ in 0..<inFlight { _ = try socket.receive() }
            return Double(completed) / (start.duration(to: .now) / .seconds(1))
        }
    }

    private func clientSocket() throws -> Socket {
        let socket = try Socket(
            context: clientContext, kind: .dealer,
            config: .init(security: .curveClient(keyPair: peerKeys, serverKey: brokerKeys.publicKey)))
        try socket.connect(endpoint.withLock { $0! })
        return socket
    }

    private func runBroker() throws {
        let zap = try Socket(context: brokerContext, kind: .rep)
        try zap.bind("inproc://zeromq.zap.01")
        var config = Socket.Config(security: .curveServer(secretKey: brokerKeys.secretKey, zapDomain: "bench"))
        config.sendHighWaterMark = 100_000
        config.receiveHighWaterMark = 100_000
        let router = try Socket(context: brokerContext, kind: .router, config: config)
        let bound = try router.bind("tcp://127.0.0.1:*")
        endpoint.withLock { $0 = bound }
        var poller = Poller()
        let routerItem = poller.add(router)
        let zapItem = poller.add(zap)
        var worker: [UInt8]?
        while !stop.load(ordering: .relaxed) {
            guard try poller.poll(timeoutMillis: 100) else { continue }
            if poller.isReadable(zapItem), let request = try zap.receive(dontWait: true) {
                try zap.send([request[0], request[1], Array("200".utf8), [], Array("peer".utf8), []])
            }
            guard poller.isReadable(routerItem) else { continue }
            while let message = try router.receive(dontWait: true) {
                if message.count == 2, message[1] == Array("READY".utf8) {
                    worker = message[0]
                    workerReady.store(true, ordering: .releasing)
                } else if message[0] == worker {
                    try router.send(Array(message.frames[1...]))  // [client, payload] back to the client
                } else if let worker {
                    try router.send([worker] + message.frames)  // [worker, client, payload]
                }
            }
        }
    }

    private func runWorker() throws {
        let socket = try Socket(
            context: workerContext, kind: .dealer,
            config: .init(security: .curveClient(keyPair: peerKeys, serverKey: brokerKeys.publicKey)))
        try socket.connect(endpoint.withLock { $0! })
        try socket.send([Array("READY".utf8)])
        var poller = Poller()
        poller.add(socket)
        while !stop.load(ordering: .relaxed) {
            guard try poller.poll(timeoutMillis: 100) else { continue }
            while let message = try socket.receive(dontWait: true) { try socket.send(message.frames) }
        }
    }

    private static func onThread(_ body: @escaping @Sendable () throws -> Void, ready: @escaping @Sendable () -> Bool)
        async throws
    {
        Thread { try? body() }.start()
        while !ready() { try await Task.sleep(for: .milliseconds(5)) }
    }

    private static func measure<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
