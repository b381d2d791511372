/// Bounds how much any one peer can make the broker log. For each peer and kind of line the first
/// `burst` lines of a `window` are logged; the rest are counted, and one summary line says how many
/// were left out when the window ends. A peer sending junk fills the log with a few lines a
/// minute, not one per message; past `maxTracked` peers at once, the others share one allowance.
struct LogRateLimiter<Clock: _Concurrency.Clock> {
    struct Key: Hashable {
        var peer: String
        var line: String
    }

    struct Suppressed: Equatable {
        var peer: String
        var line: String
        var count: Int
    }

    private struct Window {
        var start: Clock.Instant
        var logged = 0
        var suppressed = 0
    }

    let burst: Int
    let window: Clock.Duration
    let maxTracked: Int
    private var windows: [Key: Window] = [:]
    /// The peer name lines are counted under once `maxTracked` peers are being tracked.
    static var otherPeers: String { "(other peers)" }

    init(burst: Int = 5, window: Clock.Duration, maxTracked: Int = 10_000) {
        (self.burst, self.window, self.maxTracked) = (burst, window, maxTracked)
    }

    /// Whether to log this line now; if not, it is counted for the window's summary.
    mutating func admit(peer: String, line: String, now: Clock.Instant) -> Bool {
        var key = Key(peer: peer, line: line)
        if windows[key] == nil, windows.count >= maxTracked { key.peer = Self.otherPeers }
        var current = windows[key] ?? Window(start: now)
        defer { windows[key] = current }
        guard current.logged < burst else {
            current.suppressed += 1
            return false
        }
        current.logged += 1
        return true
    }

    /// Ends the windows that are over: what each left out (if anything), to be logged once.
    mutating func endWindows(now: Clock.Instant) -> [Suppressed] {
        var ended: [Suppressed] = []
        for (key, current) in windows where current.start.advanced(by: window) <= now {
            windows[key] = nil
            if current.suppressed > 0 {
                ended.append(Suppressed(peer: key.peer, line: key.line, count: current.suppressed))
            }
        }
        return ended.sorted { ($0.peer, $0.line) < ($1.peer, $1.line) }
    }
}
