import Foundation
import ServiceRuntime
import Testing

/// Waking a waiting task early, and waiting out the timeout otherwise.
@Suite("Wakeup", .timeLimit(.minutes(1)))
struct WakeupTests {
    @Test("a signal ends a wait at once; the next wait, with no signal, lasts its whole time")
    func signalThenIdle() async {
        let wakeup = Wakeup()
        // From a thread of its own: the test pool may be busy for seconds when the suite starts.
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.05)
            wakeup.signal()
        }
        let clock = ContinuousClock()
        // Bounds far apart: the signal, not the timer, ends this wait, however loaded the machine.
        let woken = await clock.measure { await wakeup.wait(upTo: .seconds(40)) }
        #expect(woken < .seconds(30))
        // The first wait's timer was cancelled: it must not leave a signal behind. (It did: every
        // following wait returned at once, and an idle index kept a core busy.)
        for _ in 0..<3 {
            let idle = await clock.measure { await wakeup.wait(upTo: .milliseconds(200)) }
            #expect(idle >= .milliseconds(150), "an idle wait returned after \(idle)")
        }
    }

    @Test("a signal given before the wait is not lost")
    func signalBeforeWait() async {
        let wakeup = Wakeup()
        wakeup.signal()
        let clock = ContinuousClock()
        let waited = await clock.measure { await wakeup.wait(upTo: .seconds(40)) }
        #expect(waited < .seconds(30))
    }
}
