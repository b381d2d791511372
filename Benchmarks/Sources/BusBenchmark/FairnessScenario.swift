import BenchmarkSupport
import BusProtocol
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import ServiceRuntime
import Synchronization

/// One principal's sequential calls, alone and while another principal floods the same service
/// (`BENCH_FLOOD` calls kept in flight, each re-sent as soon as it ends, or `BENCH_FLOOD_PAUSE_MS`
/// after it is refused, default 5; 0 makes the flood a storm of refusals, which measures the
/// CPU the broker, the flooder and the client share on this machine rather than the queue): their
/// latency and how many failed, with the broker's per-principal shares and with them as large as
/// the whole queue (one principal may fill it, as before the shares).
enum FairnessScenario {
    static let flood = Int(ProcessInfo.processInfo.environment["BENCH_FLOOD"] ?? "") ?? 2_000
    static let calls = Int(ProcessInfo.processInfo.environment["BENCH_CALLS"] ?? "") ?? 1_000
    static let pauseAfterRefusal = Duration.milliseconds(
        Int(ProcessInfo.processInfo.environment["BENCH_FLOOD_PAUSE_MS"] ?? "") ?? 5)
    /// The handler's time: the service, four sessions of 1 ms, is the bottleneck, not the broker.
    static let request = Contactpoint_V1_EchoRequest.with {
        $0.text = String(repeating: "a", count: 64)
        $0.delayMillis = 1
    }

    struct Outcome {
        var latency: Latency
        var failed: Int
        var floodServed: Int
        var floodRefused: Int
    }

    static func run() async throws {
        print("a principal's \(calls) sequential calls to a service of 4 sessions × 1 ms, alone and beside a flood")
        print("of \(flood) calls in flight from another principal (refused ones re-sent after \(pauseAfterRefusal)):")
        print(
            BusBenchmark.pad("broker", 44) + BusBenchmark.pad("p50 µs", 10) + BusBenchmark.pad("p99 µs", 10)
                + BusBenchmark.pad("failed", 8) + "flood served / refused")
        let shares = BrokerCore.Config()
        var noShares = BrokerCore.Config()
        noShares.maxQueuedPerPrincipal = noShares.maxQueuedPerService
        noShares.maxQueuedPerSession = noShares.maxQueuedPerService
        for (name, routing, flooding) in [
            ("alone", shares, false), ("flood, shares of 256 (default)", shares, true),
            ("flood, one principal may fill the queue", noShares, true),
        ] {
            let outcome = try await measure(routing: routing, flooding: flooding)
            print(
                BusBenchmark.pad(name, 44)
                    + BusBenchmark.pad(String(format: "%.0f", outcome.latency.p50.microseconds), 10)
                    + BusBenchmark.pad(String(format: "%.0f", outcome.latency.p99.microseconds), 10)
                    + BusBenchmark.pad("\(outcome.failed)", 8) + "\(outcome.floodServed) / \(outcome.floodRefused)")
        }
    }

    static func measure(routing: BrokerCore.Config, flooding: Bool) async throws -> Outcome {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let bus = try await LoopbackBroker.start(
            server: "bench-server", client: "bench-client", routing: routing, logger: logger)
        defer { bus.broker.beginGracefulShutdown() }
        var serverConfig = BusServerTransport.Config(brokers: [bus.address], keyPair: bus.serverKeys)
        serverConfig.sessionsPerBroker = 4
        let server = GRPCServer(
            transport: try BusServerTransport(config: serverConfig, logger: logger),
            services: [EchoService(instance: "bench")])
        let mine = try BusClientTransport(
            config: .init(brokers: [bus.address], keyPair: bus.clientKeys), logger: logger)
        let theirs = try BusClientTransport(
            config: .init(brokers: [bus.address], keyPair: bus.otherClientKeys), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let outcome = try await withGRPCClient(transport: mine) { mine in
                try await withGRPCClient(transport: theirs) { theirs in
                    let echo = Contactpoint_V1_Echo.Client(wrapping: mine)
                    let flooder = Contactpoint_V1_Echo.Client(wrapping: theirs)
                    for _ in 0..<200 { _ = try await echo.get(request) }
                    return try await withThrowingTaskGroup(of: (served: Int, refused: Int).self) { floods in
                        let end = Flag()
                        if flooding {
                            for _ in 0..<flood {
                                floods.addTask {
                                    var (served, refused) = (0, 0)
                                    while !end.isRaised {
                                        do {
                                            _ = try await flooder.get(request)
                                            served += 1
                                        } catch {
                                            refused += 1
                                            if pauseAfterRefusal > .zero {
                                                try await Task.sleep(for: pauseAfterRefusal)
                                            }
                                        }
                                    }
                                    return (served, refused)
                                }
                            }
                            try await Task.sleep(for: .milliseconds(500))
                        }
                        var samples: [Duration] = []
                        var failed = 0
                        let clock = ContinuousClock()
                        for _ in 0..<calls {
                            let start = clock.now
                            do { _ = try await echo.get(request) } catch { failed += 1 }
                            samples.append(start.duration(to: clock.now))
                        }
                        end.raise()
                        let flood = try await floods.reduce((served: 0, refused: 0)) {
                            ($0.served + $1.served, $0.refused + $1.refused)
                        }
                        return Outcome(
                            latency: Latency(samples: samples), failed: failed, floodServed: flood.served,
                            floodRefused: flood.refused)
                    }
                }
            }
            server.beginGracefulShutdown()
            try await group.waitForAll()
            return outcome
        }
    }
}

/// Raised to end the flood.
final class Flag: Sendable {
    private let raised = Mutex(false)
    var isRaised: Bool { raised.withLock { $0 } }
    func raise() { raised.withLock { $0 = true } }
}
