import Foundation

/// Latency percentiles of a run of sequential calls.
public struct Latency: Sendable {
    public var p50: Duration
    public var p99: Duration

    public init(samples: [Duration]) {
        let sorted = samples.sorted()
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }
}

public enum Measure {
    /// Makes `calls` calls one after another and reports their latency.
    public static func sequential(calls: Int, _ call: () async throws -> Void) async throws -> Latency {
        for _ in 0..<min(200, calls) { try await call() }
        var samples: [Duration] = []
        samples.reserveCapacity(calls)
        let clock = ContinuousClock()
        for _ in 0..<calls {
            samples.append(try await clock.measure { try await call() })
        }
        return Latency(samples: samples)
    }

    /// Keeps `inFlight` calls going for `duration` and reports completed calls per second.
    public static func throughput(
        inFlight: Int, duration: Duration, _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> Double {
        let start = ContinuousClock.now
        let end = start + duration
        let completed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < end {
                        try await call()
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(completed) / (start.duration(to: .now) / .seconds(1))
    }
}

extension Duration {
    public var microseconds: Double { self / .microseconds(1) }
}

/// This process's CPU time and context switches (all threads), to report what a call costs
/// besides its wall-clock rate. On a shared machine the CPU per call moves with the rate (both
/// follow the neighbours' load); the context switches per call follow the code alone.
public struct ProcessUsage: Sendable {
    public var cpu: Duration
    public var contextSwitches: Int
    public var taken: ContinuousClock.Instant

    public static func now() -> ProcessUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func duration(_ time: timeval) -> Duration { .seconds(time.tv_sec) + .microseconds(time.tv_usec) }
        return ProcessUsage(
            cpu: duration(usage.ru_utime) + duration(usage.ru_stime), contextSwitches: usage.ru_nvcsw + usage.ru_nivcsw,
            taken: .now)
    }

    /// "CPU 123 µs, 4.5 context switches per call" since this snapshot, for calls made at `rate` a second.
    public func perCall(rate: Double) -> String {
        let end = ProcessUsage.now()
        let calls = max(1, rate * ((end.taken - taken) / .seconds(1)))
        let cpu = (end.cpu - self.cpu).microseconds / calls
        let switches = Double(end.contextSwitches - contextSwitches) / calls
        return String(format: "CPU %.0f µs, %.1f context switches per call", cpu, switches)
    }
}
