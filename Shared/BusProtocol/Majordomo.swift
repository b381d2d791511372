/// The Majordomo Protocol MDP/0.2 (ZeroMQ RFC 18) frames, as ContactPoint uses them.
///
/// Frames are shown as libzmq delivers them to a DEALER peer; a ROUTER adds the peer's routing
/// id in front. Bodies are opaque here; `RequestHeader`/`ReplyHeader` give them meaning.
public enum Majordomo {
    public static let clientProtocol: [UInt8] = Array("MDPC02".utf8)
    public static let workerProtocol: [UInt8] = Array("MDPW02".utf8)

    /// The MMI service-discovery service (ZeroMQ RFC 8).
    public static let mmiServiceLookup = "mmi.service"
    /// Not in RFC 8: the number of worker sessions registered for a service.
    public static let mmiWorkerCount = "mmi.workers"
    public static let mmiPrefix = "mmi."

    /// An MDP/Client command.
    public enum ClientCommand: Hashable, Sendable {
        /// Client to broker.
        case request(service: String, body: [[UInt8]])
        /// Broker to client: one of several replies; more follow.
        case partial(service: String, body: [[UInt8]])
        /// Broker to client: the last reply of a request.
        case final(service: String, body: [[UInt8]])

        static let requestCode: UInt8 = 0x01
        static let partialCode: UInt8 = 0x02
        static let finalCode: UInt8 = 0x03

        public var frames: [[UInt8]] {
            switch self {
            case .request(let service, let body):
                [Majordomo.clientProtocol, [Self.requestCode], Array(service.utf8)] + body
            case .partial(let service, let body):
                [Majordomo.clientProtocol, [Self.partialCode], Array(service.utf8)] + body
            case .final(let service, let body):
                [Majordomo.clientProtocol, [Self.finalCode], Array(service.utf8)] + body
            }
        }

        /// Parses frames that start with the client protocol id.
        public init(frames: ArraySlice<[UInt8]>) throws(MalformedMessage) {
            let frames = Array(frames)
            guard frames.count >= 4 else { throw .tooFewFrames(frames.count, expected: 4) }
            guard frames[0] == Majordomo.clientProtocol else { throw .unknownProtocol }
            guard frames[1].count == 1 else { throw .unknownCommand }
            guard let service = String(validating: frames[2], as: UTF8.self), !service.isEmpty else {
                throw .badServiceName
            }
            let body = Array(frames[3...])
            switch frames[1][0] {
            case Self.requestCode: self = .request(service: service, body: body)
            case Self.partialCode: self = .partial(service: service, body: body)
            case Self.finalCode: self = .final(service: service, body: body)
            default: throw .unknownCommand
            }
        }
    }

    /// An MDP/Worker command.
    public enum WorkerCommand: Hashable, Sendable {
        case ready(service: String)
        case request(client: [UInt8], body: [[UInt8]])
        case partial(client: [UInt8], body: [[UInt8]])
        case final(client: [UInt8], body: [[UInt8]])
        case heartbeat
        case disconnect

        static let readyCode: UInt8 = 0x01
        static let requestCode: UInt8 = 0x02
        static let partialCode: UInt8 = 0x03
        static let finalCode: UInt8 = 0x04
        static let heartbeatCode: UInt8 = 0x05
        static let disconnectCode: UInt8 = 0x06

        public var frames: [[UInt8]] {
            let p = Majordomo.workerProtocol
            switch self {
            case .ready(let service): return [p, [Self.readyCode], Array(service.utf8)]
            case .request(let client, let body): return [p, [Self.requestCode], client, []] + body
            case .partial(let client, let body): return [p, [Self.partialCode], client, []] + body
            case .final(let client, let body): return [p, [Self.finalCode], client, []] + body
            case .heartbeat: return [p, [Self.heartbeatCode]]
            case .disconnect: return [p, [Self.disconnectCode]]
            }
        }

        /// Parses frames that start with the worker protocol id.
        public init(frames: ArraySlice<[UInt8]>) throws(MalformedMessage) {
            let frames = Array(frames)
            guard frames.count >= 2 else { throw .tooFewFrames(frames.count, expected: 2) }
            guard frames[0] == Majordomo.workerProtocol else { throw .unknownProtocol }
            guard frames[1].count == 1 else { throw .unknownCommand }
            let code = frames[1][0]
            switch code {
            case Self.readyCode:
                guard frames.count == 3 else { throw .tooFewFrames(frames.count, expected: 3) }
                guard let service = String(validating: frames[2], as: UTF8.self), !service.isEmpty else {
                    throw .badServiceName
                }
                self = .ready(service: service)
            case Self.requestCode, Self.partialCode, Self.finalCode:
                guard frames.count >= 5 else { throw .tooFewFrames(frames.count, expected: 5) }
                guard frames[3].isEmpty else { throw .missingEnvelopeDelimiter }
                let client = frames[2]
                let body = Array(frames[4...])
                switch code {
                case Self.requestCode: self = .request(client: client, body: body)
                case Self.partialCode: self = .partial(client: client, body: body)
                default: self = .final(client: client, body: body)
                }
            case Self.heartbeatCode:
                guard frames.count == 2 else { throw .unexpectedFrames }
                self = .heartbeat
            case Self.disconnectCode:
                guard frames.count == 2 else { throw .unexpectedFrames }
                self = .disconnect
            default:
                throw .unknownCommand
            }
        }
    }

    /// Why a message was not a valid MDP/0.2 command.
    public enum MalformedMessage: Error, Hashable, CustomStringConvertible {
        case tooFewFrames(Int, expected: Int)
        case unknownProtocol
        case unknownCommand
        case badServiceName
        case missingEnvelopeDelimiter
        case unexpectedFrames
        case undecodableHeader

        public var description: String {
            switch self {
            case .tooFewFrames(let count, let expected): "\(count) frames, at least \(expected) expected"
            case .unknownProtocol: "neither MDPC02 nor MDPW02"
            case .unknownCommand: "unknown command"
            case .badServiceName: "service name is empty or not UTF-8"
            case .missingEnvelopeDelimiter: "client address is not followed by an empty frame"
            case .unexpectedFrames: "extra frames after the command"
            case .undecodableHeader: "first body frame is not a valid header"
            }
        }
    }
}
