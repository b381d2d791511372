import CZeroMQ
import Glibc

/// Waits on many descriptors at once with epoll, reporting only those that fired — for a
/// thread that owns more sockets than `zmq_poll` can scan cheaply on every wake-up. Each
/// descriptor carries a token of the owner's choosing. Used only on its owning thread.
public final class ReadinessSet {
    private let epoll: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 256)

    public init() throws(ZeroMQError) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw ZeroMQError(code: .init(rawValue: cp_errno()), function: "epoll_create1") }
    }

    deinit { Glibc.close(epoll) }

    public func add(_ fd: Int32, token: UInt64) throws(ZeroMQError) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = token
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else {
            throw ZeroMQError(code: .init(rawValue: cp_errno()), function: "epoll_ctl(ADD)")
        }
    }

    /// Stops watching `fd`; call it before the socket that owns `fd` is closed.
    public func remove(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
    }

    /// Waits up to `timeoutMillis` (-1: forever) and returns the tokens that fired.
    public func wait(timeoutMillis: Int32) throws(ZeroMQError) -> [UInt64] {
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), timeoutMillis)
            if count >= 0 { return events.prefix(Int(count)).map { $0.data.u64 } }
            let code = cp_errno()
            if code != EINTR { throw ZeroMQError(code: .init(rawValue: code), function: "epoll_wait") }
        }
    }
}
