/// How long to wait before restarting a process that exited: doubling from ``initial`` up to
/// ``maximum`` while it keeps failing, back to ``initial`` once a run lasted ``stableAfter``.
public struct RestartBackoff: Sendable, Equatable {
    public var initial: Duration = .milliseconds(250)
    public var maximum: Duration = .seconds(30)
    public var stableAfter: Duration = .seconds(30)
    private var next: Duration?

    public init() {}

    /// The delay before the next start, given how long the run that just ended lasted.
    public mutating func delay(afterRunOf runTime: Duration) -> Duration {
        let delay = runTime >= stableAfter ? initial : (next ?? initial)
        next = min(delay * 2, maximum)
        return delay
    }
}
