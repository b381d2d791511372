import CZeroMQ
import Glibc
import Synchronization

/// Carries commands from any thread to a ``SocketThread``'s poll loop.
///
/// Senders append under a lock and signal an `eventfd` that the loop polls beside its sockets;
/// the signal is written only when the mailbox goes from empty to non-empty, so a busy loop
/// drains many commands per wake-up.
public final class Mailbox<Command: Sendable>: Sendable {
    private struct State {
        var commands: [Command] = []
        var signalled = false
        var closed = false
    }

    private let state = Mutex(State())
    /// The descriptor the owning thread adds to its ``Poller``.
    public let fileDescriptor: Int32

    public init() throws(ZeroMQError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw ZeroMQError(code: .init(rawValue: cp_errno()), function: "eventfd") }
        self.fileDescriptor = fd
    }

    deinit { Glibc.close(fileDescriptor) }

    /// Queues a command for the loop. Returns `false` (and drops it) once the mailbox is closed.
    @discardableResult
    public func send(_ command: Command) -> Bool {
        let (accepted, mustSignal) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.commands.append(command)
            defer { state.signalled = true }
            return (true, !state.signalled)
        }
        if mustSignal {
            var one: UInt64 = 1
            _ = write(fileDescriptor, &one, 8)
        }
        return accepted
    }

    /// Takes every queued command. Called by the owning loop when the descriptor is readable.
    public func drain() -> [Command] {
        // Clear the signal before taking the queue, so a command sent in between is either
        // taken now or signals again.
        var counter: UInt64 = 0
        _ = read(fileDescriptor, &counter, 8)
        return state.withLock { state in
            state.signalled = false
            defer { state.commands.removeAll(keepingCapacity: true) }
            return state.commands
        }
    }

    /// Refuses further commands and returns those still queued, so the owner can fail them.
    public func close() -> [Command] {
        state.withLock { state in
            state.closed = true
            defer { state.commands.removeAll() }
            return state.commands
        }
    }
}
