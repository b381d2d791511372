import CZeroMQ

extension Socket {
    /// The options a socket is created with. Every field maps to one `zmq_setsockopt` option;
    /// `nil` leaves libzmq's default.
    public struct Config: Sendable {
        /// How CURVE (RFC 26) secures the socket's connections.
        public enum Security: Sendable {
            /// No encryption or authentication: only for `inproc://` sockets.
            case none
            /// Accepts CURVE clients. With `zapDomain` set, every client is checked by the ZAP
            /// handler of the same context and refused if there is none.
            case curveServer(secretKey: CurveKey, zapDomain: String)
            /// Connects as a CURVE client with this key pair to a server with this public key.
            case curveClient(keyPair: CurveKeyPair, serverKey: CurveKey)
        }

        public var security: Security = .none
        /// Milliseconds unsent messages are kept after close. 0: dropped at once.
        public var linger: Int32 = 0
        public var sendHighWaterMark: Int32?
        public var receiveHighWaterMark: Int32?
        /// Inbound messages larger than this many bytes make libzmq drop the connection.
        public var maxMessageSize: Int64?
        /// The routing id a ROUTER peer sees for this socket.
        public var routingID: [UInt8]?
        /// ZMTP heartbeats: ping interval and how long without traffic before the connection is dropped.
        public var heartbeat: (interval: Int32, timeout: Int32)?
        /// Milliseconds between reconnection attempts (and their exponential cap).
        public var reconnectInterval: (initial: Int32, maximum: Int32)?
        /// ROUTER: fail a send to an unknown peer with `EHOSTUNREACH` instead of dropping it silently.
        public var routerMandatory = false
        /// Queue messages only to completed connections, so a send to a peer that is not
        /// connected would-blocks instead of waiting in a queue for a reconnection.
        public var immediate = false

        public init(security: Security = .none) {
            self.security = security
        }

        func apply(to socket: Socket) throws {
            try socket.setOption(ZMQ_LINGER, linger)
            if let sendHighWaterMark { try socket.setOption(ZMQ_SNDHWM, sendHighWaterMark) }
            if let receiveHighWaterMark { try socket.setOption(ZMQ_RCVHWM, receiveHighWaterMark) }
            if let maxMessageSize { try socket.setOption(ZMQ_MAXMSGSIZE, maxMessageSize) }
            if let routingID { try socket.setOption(ZMQ_ROUTING_ID, routingID) }
            if let heartbeat {
                try socket.setOption(ZMQ_HEARTBEAT_IVL, heartbeat.interval)
                try socket.setOption(ZMQ_HEARTBEAT_TIMEOUT, heartbeat.timeout)
                try socket.setOption(ZMQ_HEARTBEAT_TTL, heartbeat.timeout)
            }
            if let reconnectInterval {
                try socket.setOption(ZMQ_RECONNECT_IVL, reconnectInterval.initial)
                try socket.setOption(ZMQ_RECONNECT_IVL_MAX, reconnectInterval.maximum)
            }
            if routerMandatory { try socket.setOption(ZMQ_ROUTER_MANDATORY, Int32(1)) }
            if immediate { try socket.setOption(ZMQ_IMMEDIATE, Int32(1)) }
            switch security {
            case .none:
                break
            case .curveServer(let secretKey, let zapDomain):
                try socket.setOption(ZMQ_CURVE_SERVER, Int32(1))
                try socket.setOption(ZMQ_CURVE_SECRETKEY, secretKey.bytes)
                try socket.setOption(ZMQ_ZAP_DOMAIN, zapDomain)
                // Without this a missing ZAP handler would let every client in.
                try socket.setOption(ZMQ_ZAP_ENFORCE_DOMAIN, Int32(1))
            case .curveClient(let keyPair, let serverKey):
                try socket.setOption(ZMQ_CURVE_SERVERKEY, serverKey.bytes)
                try socket.setOption(ZMQ_CURVE_PUBLICKEY, keyPair.publicKey.bytes)
                try socket.setOption(ZMQ_CURVE_SECRETKEY, keyPair.secretKey.bytes)
            }
        }
    }
}
