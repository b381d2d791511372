import CZeroMQ

/// A failed libzmq call: the `errno` it left and the function that failed.
public struct ZeroMQError: Error, Hashable, CustomStringConvertible {
    /// A libzmq or POSIX error number that can be pattern-matched: `catch let e where e.code == .terminated`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let wouldBlock = Code(rawValue: EAGAIN)
        public static let interrupted = Code(rawValue: EINTR)
        public static let invalidArgument = Code(rawValue: EINVAL)
        public static let hostUnreachable = Code(rawValue: EHOSTUNREACH)
        public static let addressInUse = Code(rawValue: EADDRINUSE)
        /// The context was terminated while the call was in progress.
        public static let terminated = Code(rawValue: ETERM)
        public static let notSocket = Code(rawValue: ENOTSOCK)

        public var description: String { String(cString: zmq_strerror(rawValue)) }
    }

    public let code: Code
    /// The libzmq function that failed, e.g. `zmq_bind`.
    public let function: String

    public init(code: Code, function: String) {
        self.code = code
        self.function = function
    }

    public var description: String { "\(function): \(code) (errno \(code.rawValue))" }
}

/// Calls a libzmq function the way every call in this module is made: retries `EINTR`, returns
/// `nil` for `EAGAIN` (a would-block is a value, not an error) and throws anything else.
@inline(__always)
func zmqCall(_ function: String, _ body: () -> Int32) throws(ZeroMQError) -> Int32? {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code == EINTR { continue }
        if code == EAGAIN { return nil }
        throw ZeroMQError(code: .init(rawValue: code), function: function)
    }
}

/// Like `zmqCall` for calls where `EAGAIN` cannot happen or is itself an error.
@inline(__always)
@discardableResult
func zmqCheck(_ function: String, _ body: () -> Int32) throws(ZeroMQError) -> Int32 {
    guard let result = try zmqCall(function, body) else {
        throw ZeroMQError(code: .wouldBlock, function: function)
    }
    return result
}
