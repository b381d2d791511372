import Logging
import ServiceLifecycle
import Timekeeping

/// Tells practitioners and their administrators of lapsing criminal-records checks
/// (``IdentityStore/tellLapsingVetting(today:now:)``) at start and every ``interval``: a day
/// missed while the service was down is caught up at the next look, and several instances tell
/// each stage once between them.
struct VettingWatch: Service {
    let store: IdentityStore
    let clock: WallClock
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let now = clock.now
                let told = try await store.tellLapsingVetting(today: CalendarDay(inEngland: now), now: now.seconds)
                if told > 0 {
                    logger.notice("vetting notices recorded", metadata: ["identity.practitioners": "\(told)"])
                }
            } catch {
                logger.error("cannot look for lapsing vetting", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
