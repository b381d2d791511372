import Testing

@testable import Broker

/// How much one peer can make the broker log.
@Suite("Broker log rate limit")
struct LogRateLimiterTests {
    let start = ContinuousClock.now

    @Test("a peer's first lines of a kind in a window are logged, the rest counted and summarised once")
    func burstThenSummary() {
        var limiter = LogRateLimiter<ContinuousClock>(burst: 3, window: .seconds(60))
        let admitted = (0..<2_000).filter { index in
            limiter.admit(peer: "gateway", line: "malformed message dropped", now: start + .milliseconds(index))
        }
        #expect(admitted == [0, 1, 2])
        // Other peers and other kinds of line have their own allowance
        let otherPeer = limiter.admit(peer: "portal", line: "malformed message dropped", now: start + .seconds(1))
        let otherLine = limiter.admit(peer: "gateway", line: "call rejected", now: start + .seconds(1))
        #expect(otherPeer && otherLine)
        let early = limiter.endWindows(now: start + .seconds(59))
        #expect(early.isEmpty, "no window is over yet")
        let summary = limiter.endWindows(now: start + .seconds(61))
        #expect(summary == [.init(peer: "gateway", line: "malformed message dropped", count: 1_997)])
        let again = limiter.endWindows(now: start + .seconds(200))
        #expect(again.isEmpty, "each summary is given once")
        // A new window starts afresh
        let fresh = limiter.admit(peer: "gateway", line: "malformed message dropped", now: start + .seconds(201))
        #expect(fresh)
    }

    @Test("past the peers it tracks, new peers share one allowance: many keys cannot grow it without bound")
    func boundedPeers() {
        var limiter = LogRateLimiter<ContinuousClock>(burst: 2, window: .seconds(60), maxTracked: 10)
        let tracked = (0..<10).filter { limiter.admit(peer: "peer-\($0)", line: "peer refused", now: start) }
        #expect(tracked.count == 10)
        let strangers = (10..<1_000).filter { limiter.admit(peer: "peer-\($0)", line: "peer refused", now: start) }
        #expect(strangers == [10, 11])
        let summary = limiter.endWindows(now: start + .seconds(60))
        #expect(summary == [.init(peer: LogRateLimiter<ContinuousClock>.otherPeers, line: "peer refused", count: 988)])
    }
}
