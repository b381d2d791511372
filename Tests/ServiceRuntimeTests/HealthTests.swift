import ContactPointAPI
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import ServiceRuntime

@Suite("Health reporting", .timeLimit(.minutes(1)))
struct HealthTests {
    @Test("draining turns the process and every service NOT_SERVING")
    func drainingIsNotServing() {
        let health = HealthService()
        health.setStatus(.serving)
        health.setStatus(.serving, forService: "contactpoint.v1.Echo")
        health.setStatusOfAll(.notServing)
        #expect(health.status() == .notServing)
        #expect(health.status(ofService: "contactpoint.v1.Echo") == .notServing)
    }

    @Test("a failing readiness check (the database, say) turns NOT_SERVING, and SERVING once it passes again")
    func readinessFollowsChecks() async throws {
        let health = HealthService()
        health.setStatus(.serving)
        let databaseUp = Atomic(true)
        var monitor = ReadinessMonitor(
            checks: [{ databaseUp.load(ordering: .relaxed) }], health: health, logger: Logger(label: "test"))
        monitor.interval = .milliseconds(5)
        let group = ServiceGroup(services: [monitor], logger: Logger(label: "test"))
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            // When the database goes away
            databaseUp.store(false, ordering: .relaxed)
            try await waitFor { health.status() == .notServing }
            // When it comes back
            databaseUp.store(true, ordering: .relaxed)
            try await waitFor { health.status() == .serving }
            await group.triggerGracefulShutdown()
        }
    }

    /// Waits for a condition the monitor changes on its own schedule.
    func waitFor(_ condition: () -> Bool) async throws {
        try await eventually("the monitor's health change", every: .milliseconds(5)) { condition() }
    }
}
