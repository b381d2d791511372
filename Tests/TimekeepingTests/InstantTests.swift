import Foundation
import Testing
import Timekeeping

@Suite("Instants and the clock")
struct InstantTests {
    @Test("seconds and milliseconds convert one way only through Instant, seconds rounding down (also before 1970)")
    func units() {
        #expect(Instant(seconds: 1_800_000_000).milliseconds == 1_800_000_000_000)
        #expect(Instant(milliseconds: 1_800_000_000_999).seconds == 1_800_000_000)
        #expect(Instant(milliseconds: -1).seconds == -1)
        #expect(Instant(milliseconds: -1000).seconds == -1)
        let date = Date(timeIntervalSince1970: 1_700_000_000.123)
        #expect(Instant(date).milliseconds == 1_700_000_000_123)
        #expect(abs(Instant(date).date.timeIntervalSince(date)) < 0.001)
    }

    @Test("durations add to instants and instants subtract to durations, to the millisecond")
    func arithmetic() {
        let start = Instant(milliseconds: 1_000)
        #expect((start + .seconds(300)).milliseconds == 301_000)
        #expect((start - .milliseconds(1_500)).milliseconds == -500)
        #expect(Instant(milliseconds: 301_000) - start == .seconds(300))
        #expect(Duration.microseconds(2_999).wholeMilliseconds == 2)
        #expect(start < start + .milliseconds(1))
    }

    @Test("a fixed clock reads what it was given; the system clock reads now")
    func clocks() {
        #expect(WallClock.fixed(Instant(milliseconds: 42)).now.milliseconds == 42)
        let before = Instant(Date())
        let now = WallClock.system.now
        let after = Instant(Date())
        #expect(before <= now && now <= after)
    }
}
