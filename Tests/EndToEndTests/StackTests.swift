import ContactPointAPI
import Foundation
import Supervisor
import TestSupport
import Testing

/// `contactpoint up` and `contactpoint status` as a new user and an operator use them.
@Suite("contactpoint up", .timeLimit(.minutes(3)))
struct StackTests {
    @Test("up starts two brokers and every service; status and health report them healthy; --scale gives N workers")
    func upAndStatus() async throws {
        let stack = try await LocalStack.start(["--scale", "echo=3"])
        // 3 instances × 8 sessions each register the Echo service with each broker
        let report = try await stack.waitForStatus("24 echo workers per broker") { report in
            report.isHealthy && report.services.first { $0.name == "echo" }?.workers == [24, 24]
        }
        #expect(report.brokers.map(\.name) == ["broker-1", "broker-2"])
        #expect(report.services.map(\.name) == StackService.all.map(\.name))
        #expect(report.services.allSatisfy { $0.health == "SERVING" })
        // One instance of every service and the portal, three of echo.
        let instances =
            (StackService.all + [StackService.portal]).filter { $0.name != "echo" }.map { "\($0.name)-1" }
            + ["echo-1", "echo-2", "echo-3"]
        #expect(report.portal?.hasPrefix("https://localhost:") == true)
        #expect(Set(report.processes.map(\.name)) == Set(["broker-1", "broker-2"] + instances))
        // Every broker and service allocates with jemalloc (Package.swift, docs/OPERATIONS.md).
        let withoutJemalloc = report.processes.filter { process in
            // Read to the end: /proc reports a size of 0.
            guard let pid = process.pid,
                let maps = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/maps")).readToEnd()
            else { return true }
            return !String(decoding: maps, as: UTF8.self).contains("libjemalloc")
        }
        #expect(withoutJemalloc.isEmpty, "\(withoutJemalloc.map(\.name))")
        #expect(try await stack.status().exitStatus == 0)
        let health = try RunningProcess(
            "contactpoint", ["health", "echo", "--data-dir", stack.directory.root], name: "health")
        #expect(await health.exited() == 0)
        #expect(health.text.contains("echo: SERVING"))
        let unknown = try RunningProcess(
            "contactpoint", ["health", "nothing", "--data-dir", stack.directory.root], name: "health")
        #expect(await unknown.exited() == 1, "no process answers for a service that does not run: \(unknown.text)")

        let served = try await stack.withEchoClient { echo in
            var seen: Set<String> = []
            for _ in 0..<200 where seen.count < 3 { seen.insert(try await echo.get(.with { $0.text = "hi" }).servedBy) }
            return seen
        }
        #expect(served == ["echo-1", "echo-2", "echo-3"])
    }

    @Test("a service killed with SIGKILL is restarted by up and serves again")
    func restartsKilledService() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let first = try stack.pid(of: "echo-1")
        kill(first, SIGKILL)
        try await stack.up.waitForOutput(containing: "[up] echo-1 was killed by signal 9; restarting")
        let report = try await stack.waitForStatus("echo-1 running again") { report in
            report.isHealthy
                && report.processes.contains { $0.name == "echo-1" && $0.restarts == 1 && $0.phase == .running }
        }
        #expect(report.processes.first { $0.name == "echo-1" }?.pid != first)
        let reply = try await stack.withEchoClient { try await $0.get(.with { $0.text = "back?" }) }
        #expect(reply.servedBy == "echo-1")
    }

    @Test(
        "SIGTERM to up drains the call in flight, stops the services and then the brokers, and leaves nothing running")
    func stopDrainsInOrder() async throws {
        let stack = try await LocalStack.start(environment: ["CONTACTPOINT_LOG_LEVEL": "debug"])
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let pids = try stack.state.processes.compactMap(\.pid)
        let reply = try await stack.withEchoClient { echo in
            async let reply = echo.get(
                .with {
                    $0.text = "finish me"
                    $0.delayMillis = 1000
                })
            try await stack.up.waitForOutput(containing: "rpc.method=/contactpoint.v1.Echo/Get")
            stack.up.requestStop()
            return try await reply
        }
        #expect(reply.text == "finish me")
        #expect(await stack.up.exited() == 0)
        let output = stack.up.text
        // A data directory other than the default: the welcome says how to reach it
        #expect(output.contains("give each command --data-dir \(stack.directory.root)"), "\(output.prefix(3000))")
        let echoStopped = try #require(output.range(of: "contactpoint-echo: instance=echo-1 [ServiceRuntime] stopped"))
        let brokerStopping = try #require(output.range(of: "broker stopping"))
        #expect(
            echoStopped.lowerBound < brokerStopping.lowerBound, "services stop before the brokers they reply through")
        #expect(pids.allSatisfy { !isAlive($0) })
    }

    @Test("when up itself is killed with SIGKILL, its brokers and services exit by themselves")
    func noOrphans() async throws {
        let stack = try await LocalStack.start()
        try await stack.waitForStatus("healthy") { $0.isHealthy }
        let pids = try stack.state.processes.compactMap(\.pid)
        #expect(pids.count == 2 + StackService.all.count + 1, "brokers, services and the portal")
        stack.up.killHard()
        try await eventually("every process of the stack ends with up") { !pids.contains(where: isAlive) }
    }

    @Test("a second up on the same data directory is refused")
    func oneUpPerDirectory() async throws {
        let stack = try await LocalStack.start()
        let second = try RunningProcess(
            "contactpoint", ["up", "--data-dir", stack.directory.root, "--base-port", "0"], name: "second")
        #expect(await second.exited() != 0)
        #expect(second.text.contains("another `contactpoint up` is running"))
    }
}
