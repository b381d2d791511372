/// Waits for a condition instead of for a time: checks `condition` every `interval` until it
/// holds, and throws ``NeverHappened`` naming `what` once `timeout` has passed without it. The
/// timeout is a bound on a hang, not a claim about speed: make it generous.
public func eventually(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    _ = try await eventually(what, timeout: timeout, every: interval) { try await condition() ? true : nil }
}

/// Waits until `value` gives something, and returns it (an item raised, a reply); throws
/// ``NeverHappened`` naming `what` once `timeout` has passed without one.
public func eventually<Value>(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
    _ value: () async throws -> Value?
) async throws -> Value {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let found = try await value() { return found }
        guard ContinuousClock.now < deadline else { throw NeverHappened(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}

/// A condition a test waited for did not come about in time.
public struct NeverHappened: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "never happened within \(timeout): \(what)" }
}
