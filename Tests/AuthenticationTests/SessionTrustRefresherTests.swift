import GRPCInProcessTransport
import Testing

@testable import Authentication

/// When the session-trust refresher asks the identity service again.
@Suite("Session trust refresh schedule")
struct SessionTrustRefresherTests {
    typealias Refresher = SessionTrustRefresher<InProcessTransport.Client>

    @Test("a failed refresh is retried within 100 ms, then less often, never later than the interval")
    func retriesSoonAfterFailure() {
        let interval = Duration.seconds(2)
        let pauses = (1...8).map { Refresher.pause(afterFailures: $0, trusted: true, interval: interval) }
        #expect(
            pauses == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
                interval, interval, interval,
            ])
        #expect(Refresher.pause(afterFailures: 10_000, trusted: true, interval: interval) == interval)
    }

    @Test("a working refresh waits one interval; before the first answer it asks every 100 ms")
    func steadyAndStarting() {
        #expect(Refresher.pause(afterFailures: 0, trusted: true, interval: .seconds(2)) == .seconds(2))
        #expect(Refresher.pause(afterFailures: 5, trusted: false, interval: .seconds(2)) == .milliseconds(100))
        #expect(Refresher.pause(afterFailures: 1, trusted: true, interval: .milliseconds(50)) == .milliseconds(50))
    }
}
