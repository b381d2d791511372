import Foundation
import NamedThreads
import Synchronization

/// A dedicated OS thread that owns a set of ZeroMQ sockets and runs their poll loop — the shape
/// of czmq's `zactor`: a thread, a poll loop, a command mailbox and a synchronous start handshake.
///
/// `start` returns once the body has reported that its sockets are set up (or throws the error
/// it reported), without blocking a cooperative-pool thread. `join` waits, also without blocking,
/// until the body has returned. The body must close its sockets before returning.
public final class SocketThread: Sendable {
    /// Handed to the body to report the outcome of its set-up exactly once.
    public struct StartSignal: Sendable {
        fileprivate let continuation: OneShot<CheckedContinuation<Void, any Error>>

        /// The sockets are ready; `start` returns.
        public func started() { continuation.take()?.resume() }
        /// Set-up failed; `start` throws `error`. The body should return right after.
        public func failed(_ error: any Error) { continuation.take()?.resume(throwing: error) }
    }

    private enum JoinState {
        case running([CheckedContinuation<Void, Never>])
        case exited
    }

    private let joinState = Mutex(JoinState.running([]))
    public let name: String

    private init(name: String) { self.name = name }

    public static func start(
        name: String,
        body: @escaping @Sendable (StartSignal) -> Void
    ) async throws -> SocketThread {
        let thread = SocketThread(name: name)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let signal = StartSignal(continuation: .init(continuation))
            Thread.start(named: name) {
                body(signal)
                signal.failed(SocketThreadError.exitedBeforeStarting(name))
                thread.markExited()
            }
        }
        return thread
    }

    /// Waits until the thread's body has returned.
    public func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = joinState.withLock { state -> Bool in
                switch state {
                case .running(var waiters):
                    waiters.append(continuation)
                    state = .running(waiters)
                    return false
                case .exited:
                    return true
                }
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func markExited() {
        let waiters = joinState.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state = .exited }
            if case .running(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume() }
    }
}

public enum SocketThreadError: Error, CustomStringConvertible {
    case exitedBeforeStarting(String)

    public var description: String {
        switch self {
        case .exitedBeforeStarting(let name): "socket thread \(name) returned before reporting its start"
        }
    }
}

/// A value handed from one thread to another once: the first `take()` gets it, later ones `nil`.
final class OneShot<Wrapped: Sendable>: Sendable {
    private let value: Mutex<Wrapped?>
    init(_ value: Wrapped) { self.value = Mutex(value) }
    func take() -> Wrapped? { value.withLock { $0.take() } }
}
