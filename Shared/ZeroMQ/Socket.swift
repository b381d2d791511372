import CZeroMQ

/// A ZeroMQ socket, owned by exactly one thread.
///
/// libzmq sockets are not thread-safe: create, use and close a `Socket` on one thread — in this
/// code base, the thread of a ``SocketThread``. The type is deliberately not `Sendable`.
/// `LINGER` defaults to 0 (see ``Config``), so closing never blocks on unsent messages.
public final class Socket {
    /// The ZeroMQ socket type.
    public struct Kind: Hashable, Sendable {
        let rawValue: Int32
        public static let pair = Kind(rawValue: ZMQ_PAIR)
        public static let req = Kind(rawValue: ZMQ_REQ)
        public static let rep = Kind(rawValue: ZMQ_REP)
        public static let dealer = Kind(rawValue: ZMQ_DEALER)
        public static let router = Kind(rawValue: ZMQ_ROUTER)
    }

    public let kind: Kind
    private(set) var handle: UnsafeMutableRawPointer?
    /// Held so the context outlives the socket: terminating a context waits for its sockets.
    private let context: Context

    public init(context: Context, kind: Kind, config: Config = Config()) throws {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else {
            throw ZeroMQError(code: .init(rawValue: zmq_errno()), function: "zmq_socket")
        }
        self.kind = kind
        self.handle = handle
        self.context = context
        do {
            try config.apply(to: self)
        } catch {
            zmq_close(handle)
            self.handle = nil
            throw error
        }
    }

    deinit { close() }

    /// Closes the socket; later calls throw `.notSocket`. Idempotent.
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
        }
    }

    /// Closes the socket after giving unsent messages up to `lingerMillis` to leave — for a
    /// last word such as an MDP DISCONNECT.
    public func close(lingerMillis: Int32) {
        try? setOption(ZMQ_LINGER, lingerMillis)
        close()
    }

    var liveHandle: UnsafeMutableRawPointer {
        get throws {
            guard let handle else { throw ZeroMQError(code: .notSocket, function: "closed socket") }
            return handle
        }
    }

    // MARK: Endpoints

    /// Binds and returns the endpoint actually bound, so `tcp://127.0.0.1:*` reports its port.
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        let handle = try liveHandle
        try zmqCheck("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
        return try lastEndpoint()
    }

    public func connect(_ endpoint: String) throws {
        let handle = try liveHandle
        try zmqCheck("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    public func disconnect(_ endpoint: String) throws {
        let handle = try liveHandle
        try zmqCheck("zmq_disconnect(\(endpoint))") { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint of the last `bind` or `connect`, with wildcards resolved.
    public func lastEndpoint() throws -> String {
        let handle = try liveHandle
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        try zmqCheck("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") {
            zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts publishing this socket's connection events to a PAIR socket at `endpoint` (inproc).
    public func monitor(at endpoint: String, events: MonitorEvent.Kinds) throws {
        let handle = try liveHandle
        try zmqCheck("zmq_socket_monitor") { zmq_socket_monitor(handle, endpoint, events.rawValue) }
    }

    /// Stops the monitor started by ``monitor(at:events:)``. Call it before closing the
    /// monitor's PAIR socket: libzmq's I/O thread blocks if monitor events have nowhere to go.
    public func stopMonitor() {
        guard let handle else { return }
        zmq_socket_monitor(handle, nil, 0)
    }

    /// The descriptor libzmq signals when the socket's state may have changed (`ZMQ_FD`), for
    /// waiting on many sockets with epoll. It signals a change, not a message: after it fires,
    /// and after any send, ask ``hasInput`` and receive until it is false.
    public func signalDescriptor() throws -> Int32 {
        let handle = try liveHandle
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        try zmqCheck("zmq_getsockopt(ZMQ_FD)") { zmq_getsockopt(handle, ZMQ_FD, &fd, &size) }
        return fd
    }

    /// Whether a message can be received now (`ZMQ_EVENTS` has `ZMQ_POLLIN`).
    public var hasInput: Bool {
        get throws {
            let handle = try liveHandle
            var events: Int32 = 0
            var size = MemoryLayout<Int32>.size
            try zmqCheck("zmq_getsockopt(ZMQ_EVENTS)") { zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) }
            return events & ZMQ_POLLIN != 0
        }
    }

    // MARK: Messages

    /// Sends all frames as one message. Returns `false` when the socket would block and
    /// `dontWait` is set (nothing was sent), `true` once the whole message is queued.
    @discardableResult
    public func send<Frames: Collection>(_ frames: Frames, dontWait: Bool = false) throws -> Bool
    where Frames.Element == [UInt8] {
        let handle = try liveHandle
        var remaining = frames.count
        precondition(remaining > 0, "a ZeroMQ message has at least one frame")
        for frame in frames {
            remaining -= 1
            var flags: Int32 = remaining > 0 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let sent = try frame.withUnsafeBytes { bytes in
                try zmqCall("zmq_send") { zmq_send(handle, bytes.baseAddress, bytes.count, flags) }
            }
            // libzmq queues a multipart message atomically: only the first frame can would-block.
            if sent == nil { return false }
        }
        return true
    }

    /// Sends one message; see ``send(_:dontWait:)``.
    @discardableResult
    public func send(_ message: Multipart, dontWait: Bool = false) throws -> Bool {
        try send(message.frames, dontWait: dontWait)
    }

    /// Receives one whole message of any size, or `nil` when `dontWait` is set and none is waiting.
    public func receive(dontWait: Bool = false) throws -> Multipart? {
        let handle = try liveHandle
        var frames: [[UInt8]] = []
        var userID: String?
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            let flags: Int32 = (dontWait && frames.isEmpty) ? ZMQ_DONTWAIT : 0
            guard let size = try zmqCall("zmq_msg_recv", { zmq_msg_recv(&message, handle, flags) }) else {
                return nil
            }
            let data = zmq_msg_data(&message)
            frames.append(
                size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: Int(size)))
            )
            // ROUTER's routing-id frame is made locally and carries no connection metadata, so
            // take the property from the first frame that has it.
            if userID == nil, let property = zmq_msg_gets(&message, "User-Id") {
                userID = String(cString: property)
            }
            if zmq_msg_more(&message) == 0 { break }
        }
        return Multipart(frames, userID: userID)
    }

    // MARK: Options

    public func setOption(_ option: Int32, _ value: Int32) throws {
        let handle = try liveHandle
        var value = value
        try zmqCheck("zmq_setsockopt(\(option))") {
            zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size)
        }
    }

    public func setOption(_ option: Int32, _ value: Int64) throws {
        let handle = try liveHandle
        var value = value
        try zmqCheck("zmq_setsockopt(\(option))") {
            zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size)
        }
    }

    public func setOption(_ option: Int32, _ value: [UInt8]) throws {
        let handle = try liveHandle
        _ = try value.withUnsafeBytes { bytes in
            try zmqCheck("zmq_setsockopt(\(option))") {
                zmq_setsockopt(handle, option, bytes.baseAddress, bytes.count)
            }
        }
    }

    public func setOption(_ option: Int32, _ value: String) throws {
        try setOption(option, Array(value.utf8))
    }
}
