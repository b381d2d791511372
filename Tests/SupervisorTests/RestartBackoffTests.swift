import Supervisor
import Testing

@Suite("Restart backoff")
struct RestartBackoffTests {
    @Test("doubles while a process keeps failing, up to the maximum")
    func doubles() {
        var backoff = RestartBackoff()
        let delays = (0..<10).map { _ in backoff.delay(afterRunOf: .milliseconds(10)) }
        #expect(delays.prefix(4) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        #expect(delays.last == .seconds(30))
    }

    @Test("starts again from the first delay after a run that lasted")
    func resetsAfterStableRun() {
        var backoff = RestartBackoff()
        for _ in 0..<5 { _ = backoff.delay(afterRunOf: .milliseconds(10)) }
        #expect(backoff.delay(afterRunOf: .seconds(60)) == .milliseconds(250))
        #expect(backoff.delay(afterRunOf: .milliseconds(10)) == .milliseconds(500))
    }
}
