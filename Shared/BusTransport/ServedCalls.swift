import GRPCCore
import Synchronization

/// The calls a ``BusServerTransport`` is handling, each on a task of its own, and what stops
/// one: its RPC marked cancelled (for handlers that watch `ServerContext.cancellation`) and its
/// task cancelled (so a handler past its deadline stops working).
///
/// One task per call and no timer: the worker loop watches the deadlines and calls
/// ``cancel(_:)``. Handing the deadline to GRPCCore (a timer task per call) and waiting on the
/// RPC's cancellation in a task beside the handler cost 0.5–0.9 more context switches per
/// audited lookup (index benchmark, plain MDP clients, which send deadlines).
final class ServedCalls: Sendable {
    private struct Call {
        var task: Task<Void, Never>
        var rpc: ServerContext.RPCCancellationHandle?
        var cancelled = false
    }

    private struct State {
        var calls: [UInt64: Call] = [:]
        /// Calls are started in the order of their ids: one after this one is yet to start.
        var lastStarted: UInt64 = 0
        /// Calls stopped before they started (the worker loop saw their deadline pass first).
        var cancelledBeforeStart: Set<UInt64> = []
        /// Set once the server is cancelled: calls that arrive after are cancelled from the start.
        var stopping = false
    }

    private let state = Mutex(State())

    /// Starts `handle` on a task of its own as call `id` (ids increase from one call to the
    /// next); it must call ``attach(_:to:)`` with its RPC's cancellation handle, then
    /// ``finished(_:)`` when it ends.
    func start(_ id: UInt64, _ handle: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            state.lastStarted = id
            let cancelled = state.stopping || state.cancelledBeforeStart.remove(id) != nil
            // Made under the lock, so the task cannot finish (and remove itself) before it is recorded.
            let task = Task { await handle() }
            if cancelled { task.cancel() }
            state.calls[id] = Call(task: task, cancelled: cancelled)
        }
    }

    func attach(_ rpc: ServerContext.RPCCancellationHandle, to id: UInt64) {
        let cancelled = state.withLock { state -> Bool in
            state.calls[id]?.rpc = rpc
            return state.calls[id]?.cancelled ?? false
        }
        if cancelled { rpc.cancel() }
    }

    func finished(_ id: UInt64) {
        _ = state.withLock { $0.calls.removeValue(forKey: id) }
    }

    /// Stops call `id` (its deadline has passed): at once, or as it starts; nothing if it has ended.
    func cancel(_ id: UInt64) {
        let call = state.withLock { state -> Call? in
            if id > state.lastStarted { state.cancelledBeforeStart.insert(id) }
            state.calls[id]?.cancelled = true
            return state.calls[id]
        }
        call.map(Self.stop)
    }

    /// Stops every call in flight (the grace period after shutdown is over), and with
    /// `andLater` every call that arrives from now on too (the server is cancelled). Returns
    /// how many were in flight.
    @discardableResult
    func cancelAll(andLater: Bool) -> Int {
        let calls = state.withLock { state in
            if andLater { state.stopping = true }
            for id in state.calls.keys { state.calls[id]?.cancelled = true }
            return Array(state.calls.values)
        }
        for call in calls { Self.stop(call) }
        return calls.count
    }

    /// Waits until every call started has ended.
    func waitForAll() async {
        // A call removes itself before its task ends.
        while let call = state.withLock({ $0.calls.values.first }) { await call.task.value }
    }

    // Outside the lock: cancelling runs the handlers' cancellation callbacks.
    private static func stop(_ call: Call) {
        call.rpc?.cancel()
        call.task.cancel()
    }
}
