import CZeroMQ

/// A ZeroMQ context: the I/O threads and the in-process namespace (`inproc://`) its sockets share.
///
/// libzmq contexts are thread-safe, so a `Context` may be shared freely; its sockets may not
/// (see ``Socket``). The context is terminated when the last reference goes away, which blocks
/// until every socket created from it has been closed: close sockets on their owning threads first.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZeroMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZeroMQError(code: .init(rawValue: zmq_errno()), function: "zmq_ctx_new")
        }
        self.handle = handle
        try zmqCheck("zmq_ctx_set") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
        // Lets a process with many worker sessions and clients open more than the default 1023.
        try zmqCheck("zmq_ctx_set") { zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, 8192) }
    }

    /// Makes every blocking call on this context's sockets return `.terminated`, without waiting.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version this process is linked against, e.g. "4.3.4".
    public static var libraryVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether libzmq was built with CURVE support (libsodium or its own tweetnacl).
    public static var hasCurve: Bool { zmq_has("curve") != 0 }
}
