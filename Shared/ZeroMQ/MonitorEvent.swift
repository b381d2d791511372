import CZeroMQ

/// A connection event libzmq reports on a socket monitor (`zmq_socket_monitor`).
public struct MonitorEvent: Sendable, Hashable {
    /// A set of event kinds, as libzmq's `ZMQ_EVENT_*` bits.
    public struct Kinds: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let connected = Kinds(rawValue: ZMQ_EVENT_CONNECTED)
        public static let disconnected = Kinds(rawValue: ZMQ_EVENT_DISCONNECTED)
        public static let handshakeSucceeded = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        /// The server refused our credentials (ZAP said no) or we refused the server's.
        public static let handshakeFailedAuth = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        public static let handshakeFailedProtocol = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        public static let handshakeFailedNoDetail = Kinds(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        public static let monitorStopped = Kinds(rawValue: ZMQ_EVENT_MONITOR_STOPPED)

        public static let handshakeFailed: Kinds = [
            .handshakeFailedAuth, .handshakeFailedProtocol, .handshakeFailedNoDetail,
        ]
    }

    public let kind: Kinds
    /// The event's value: a file descriptor, an errno or a ZAP status, depending on the kind.
    public let value: UInt32
    public let endpoint: String

    /// Parses the two-frame message a monitor PAIR socket receives; `nil` if it is not one.
    public init?(_ message: Multipart) {
        guard message.count == 2, message[0].count == 6 else { return nil }
        let header = message[0]
        kind = Kinds(rawValue: Int32(UInt16(header[0]) | UInt16(header[1]) << 8))
        value = UInt32(header[2]) | UInt32(header[3]) << 8 | UInt32(header[4]) << 16 | UInt32(header[5]) << 24
        endpoint = String(decoding: message[1], as: UTF8.self)
    }
}
