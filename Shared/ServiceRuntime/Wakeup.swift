import Synchronization

/// Wakes one waiting task early: signalled after events are committed (an outbox, new alerts), so
/// that whoever waits for them acts within milliseconds rather than at its next poll.
public final class Wakeup: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (at once if one came since the last wait) or after `duration`.
    public func wait(upTo duration: Duration) async {
        let timer = Task {
            // Cancelled (a real signal came first): it must not signal, or the stale signal would
            // end the next wait at once, and that wait's cancelled timer the one after — a loop
            // that kept an idle service's core busy.
            guard (try? await Task.sleep(for: duration)) != nil else { return }
            signal()
        }
        await wait()
        timer.cancel()
        // A timer that fired just after a real signal leaves a stale `pending`: one extra poll.
    }

    /// Returns at the next signal (at once if one came since the last wait), or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            signal()
        }
    }
}
