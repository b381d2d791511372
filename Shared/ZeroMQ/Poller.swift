import CZeroMQ

/// A set of sockets and file descriptors to wait on with `zmq_poll`, rebuilt by its owner
/// whenever the set changes. Used only on the thread that owns the sockets.
public struct Poller {
    private var items: [zmq_pollitem_t] = []

    public init() {}

    /// Adds a socket to wait on for input; returns its index in ``poll(timeoutMillis:)``'s result.
    @discardableResult
    public mutating func add(_ socket: Socket) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Adds a plain file descriptor (such as a ``Mailbox``'s) to wait on for input.
    @discardableResult
    public mutating func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    public var count: Int { items.count }

    /// Waits until an item is readable or `timeoutMillis` pass (-1: forever). Returns whether
    /// anything is readable; ask ``isReadable(_:)`` which.
    public mutating func poll(timeoutMillis: Int) throws -> Bool {
        let count = Int32(items.count)
        let ready = try items.withUnsafeMutableBufferPointer { buffer in
            try zmqCall("zmq_poll") { zmq_poll(buffer.baseAddress, count, timeoutMillis) }
        }
        return (ready ?? 0) > 0
    }

    public func isReadable(_ index: Int) -> Bool {
        items[index].revents & Int16(ZMQ_POLLIN) != 0
    }
}
