import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import TestSupport
import Testing
import ZeroMQ

/// The bus as separate processes: two brokers, echo workers, and clients in this process.
@Suite("Bus end to end (real executables)", .timeLimit(.minutes(2)))
struct BusEndToEndTests {
    @Test("calls spread across three worker processes; each sees the authenticated caller")
    func spread() async throws {
        let cluster = try await BusCluster.start(workers: ["echo-1", "echo-2", "echo-3"])
        let replies = try await cluster.withEchoClient { echo in
            try await waitUntilServing(echo, instances: ["echo-1", "echo-2", "echo-3"])
            return try await withThrowingTaskGroup(of: Contactpoint_V1_EchoResponse.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        try await echo.get(
                            .with {
                                $0.text = "\(index)"
                                $0.delayMillis = 20
                            })
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(Set(replies.map(\.servedBy)) == ["echo-1", "echo-2", "echo-3"])
        #expect(Set(replies.map(\.caller)) == ["test-client"])
        #expect(Set(replies.map(\.text)) == Set((0..<60).map(String.init)))
    }

    @Test("kill -9 a worker mid-stream: the caller gets UNAVAILABLE within the heartbeat expiry")
    func workerKilledMidCall() async throws {
        let cluster = try await BusCluster.start(workers: ["echo-1", "echo-2"])
        let (holder, error, elapsed) = try await cluster.withEchoClient { echo in
            try await waitUntilServing(echo, instances: ["echo-1", "echo-2"])
            return try await echo.expand(
                .with {
                    $0.text = "slow"
                    $0.repeat = 2
                    $0.delayMillis = 30_000
                }
            ) { response in
                var messages = response.messages.makeAsyncIterator()
                // The first message says which worker holds the call.
                let first = try #require(try await messages.next())
                cluster.worker(first.servedBy)?.killHard()
                let killed = ContinuousClock.now
                do {
                    _ = try await messages.next()
                    return (first.servedBy, RPCError?.none, killed.duration(to: .now))
                } catch let error as RPCError {
                    return (first.servedBy, error, killed.duration(to: .now))
                }
            }
        }
        #expect(error?.code == .unavailable, "holder: \(holder)")
        // Before the 30 s the worker would have taken: the broker noticed the kill (a logical bound, not a speed).
        #expect(elapsed < .seconds(30), "failed after \(elapsed)")
    }

    @Test("kill -9 the only worker mid-call: the idempotent call is retried and succeeds on a new worker")
    func unaryRetriedAfterWorkerDeath() async throws {
        let cluster = try await BusCluster.start(workers: ["echo-1"])
        let reply = try await cluster.withEchoClient { echo in
            try await waitUntilServing(echo, instances: ["echo-1"])
            let worker = try #require(cluster.worker("echo-1"))
            async let reply = echo.get(
                .with {
                    $0.text = "important"
                    $0.delayMillis = 1_000
                })
            // Wait until echo-1 has the call (it logs each call it receives; the readiness call
            // was call 1), then kill it.
            try await worker.waitForOutput(containing: "rpc.call-id=2 ", timeout: .seconds(10))
            worker.killHard()
            try cluster.startWorker("echo-2")
            return try await reply
        }
        #expect(reply.text == "important")
        #expect(reply.servedBy == "echo-2")
    }

    @Test("kill -9 a broker: calls carry on through the other broker")
    func brokerKilled() async throws {
        let cluster = try await BusCluster.start(workers: ["echo-1", "echo-2"])
        let served = try await cluster.withEchoClient { echo in
            try await waitUntilServing(echo, instances: ["echo-1", "echo-2"])
            cluster.brokerProcesses[0].killHard()
            var served = 0
            for index in 0..<100 {
                let reply = try await echo.get(.with { $0.text = "after-\(index)" })
                if reply.text == "after-\(index)" { served += 1 }
            }
            return served
        }
        #expect(served == 100)
    }

    @Test("a client whose key is not on the allow-list is refused: UNAUTHENTICATED, nothing served")
    func unknownKeyRefused() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let error = try await cluster.withEchoClient(keys: cluster.strangerKeys, retry: false) { echo in
            var options = CallOptions.defaults
            options.timeout = .seconds(10)
            return await #expect(throws: RPCError.self) {
                try await echo.get(.with { $0.text = "let me in" }, options: options)
            }
        }
        #expect(error?.code == .unauthenticated)
        #expect(cluster.worker("echo-1")?.text.contains("call received") == false)
        #expect(cluster.brokerProcesses[0].text.contains("peer refused"))
    }

    @Test("a caller's deadline holds even when the worker holding its call is frozen and says nothing")
    func deadlineWithSilentWorker() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"], heartbeatMillis: 1000)
        let worker = try #require(cluster.worker("echo-1"))
        try await cluster.withEchoClient { try await waitUntilServing($0, instances: ["echo-1"]) }
        // Given a worker that can neither answer nor enforce the deadline itself
        kill(worker.pid, SIGSTOP)
        defer { kill(worker.pid, SIGCONT) }
        // When a new client's first call goes to it
        let error = try await cluster.withEchoClient(retry: false) { echo in
            var options = CallOptions.defaults
            options.timeout = .milliseconds(300)
            return await #expect(throws: RPCError.self) {
                try await echo.get(.with { $0.text = "anyone?" }, options: options)
            }
        }
        // Then the caller hears DEADLINE_EXCEEDED: its own deadline, not the broker noticing the worker
        // gone (3 heartbeats of 1 s), which would be UNAVAILABLE
        #expect(error?.code == .deadlineExceeded)
    }

    @Test("a call whose deadline passes while every worker is busy is never dispatched")
    func expiredDeadlineNeverDispatched() async throws {
        // A 1 s heartbeat: with the 200 ms default a loaded machine can make the worker give up
        // on the broker and register a second, idle session, which would take the call.
        let cluster = try await BusCluster.start(brokers: 1, workers: [], heartbeatMillis: 1000)
        try cluster.startWorker("echo-1", sessions: 1)
        let (busy, expired) = try await cluster.withEchoClient(retry: false) { echo in
            try await waitUntilServing(echo, instances: ["echo-1"])
            // Given the only worker session busy for 3 s (long enough that a loaded machine, slow
            // to notice the call arrived and to send the next, still sends it while the worker is busy)
            async let busy = echo.get(
                .with {
                    $0.text = "busy"
                    $0.delayMillis = 3_000
                })
            try await cluster.worker("echo-1")!.waitForOutput(containing: "rpc.call-id=2 ")
            // When a call with a 200 ms deadline arrives
            var options = CallOptions.defaults
            options.timeout = .milliseconds(200)
            let expired = await #expect(throws: RPCError.self) {
                try await echo.get(.with { $0.text = "too late" }, options: options)
            }
            return (try await busy, expired)
        }
        // Then it fails, and the worker never saw it (call 3): only the readiness and busy calls arrived
        #expect(busy.text == "busy")
        #expect(expired?.code == .deadlineExceeded)
        let output = try #require(cluster.worker("echo-1")).text
        #expect(!output.contains("rpc.call-id=3 "), "the worker received the expired call:\n\(output.suffix(3000))")
    }

    @Test("SIGTERM drains a worker: the call in flight finishes, then the process exits")
    func gracefulShutdown() async throws {
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        let worker = try #require(cluster.worker("echo-1"))
        let reply = try await cluster.withEchoClient(retry: false) { echo in
            try await waitUntilServing(echo, instances: ["echo-1"])
            async let reply = echo.get(
                .with {
                    $0.text = "finish me"
                    $0.delayMillis = 800
                })
            try await worker.waitForOutput(containing: "rpc.call-id=2 ")
            worker.requestStop()
            return try await reply
        }
        #expect(reply.text == "finish me")
        #expect(reply.servedBy == "echo-1")
        try await cluster.brokerProcesses[0].waitForOutput(containing: "worker lost")
    }

    @Test("a principal flooding a service cannot crowd out another: every call of the other is served")
    func fairShare() async throws {
        // Brokers hold 64 requests a service, 32 of them from one principal (BusCluster)
        let cluster = try await BusCluster.start(brokers: 1, workers: ["echo-1"])
        try await cluster.withEchoClient(retry: false) { echo in try await waitUntilServing(echo, instances: ["echo-1"])
        }
        let flooding = Locked(true)
        // Given another principal sending 200 calls at a time, again and again, far past its share
        async let flood = cluster.withEchoClient(keys: cluster.otherClientKeys, retry: false) { echo in
            var outcomes: [RPCError.Code?: Int] = [:]
            while flooding.value {
                try await withThrowingTaskGroup(of: RPCError.Code?.self) { group in
                    for _ in 0..<200 {
                        group.addTask {
                            do {
                                _ = try await echo.get(.with { $0.delayMillis = 2 })
                                return nil
                            } catch let error as RPCError {
                                return error.code
                            }
                        }
                    }
                    for try await outcome in group { outcomes[outcome, default: 0] += 1 }
                }
            }
            return outcomes
        }
        // When this client makes 40 calls one after another meanwhile
        let answered = try await cluster.withEchoClient(retry: false) { echo in
            var answered = 0
            for index in 0..<40 {
                let reply = try await echo.get(.with { $0.text = "mine-\(index)" })
                if reply.text == "mine-\(index)" && reply.caller == "test-client" { answered += 1 }
            }
            return answered
        }
        flooding.update { $0 = false }
        let outcomes = try await flood
        // Then every one of them was served, while the flood was refused past its share
        #expect(answered == 40)
        #expect(outcomes[.resourceExhausted, default: 0] > 0, "the flood never filled its share: \(outcomes)")
        #expect(outcomes[nil, default: 0] > 0, "the flooding principal was still served: \(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: [nil, .resourceExhausted]), "\(outcomes)")
    }
}
