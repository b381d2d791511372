/// One ZeroMQ message: its frames, in order, and the peer identity libzmq authenticated for it.
public struct Multipart: Sendable, Hashable {
    public var frames: [[UInt8]]
    /// The `User-Id` the ZAP handler returned for the connection the message arrived on, when the
    /// socket authenticates peers (CURVE with a ZAP handler). A peer cannot set this itself.
    public var userID: String?

    public init(_ frames: [[UInt8]], userID: String? = nil) {
        self.frames = frames
        self.userID = userID
    }

    public var count: Int { frames.count }
    public subscript(index: Int) -> [UInt8] { frames[index] }

    /// The total size of the frames in bytes.
    public var byteCount: Int { frames.reduce(0) { $0 + $1.count } }
}

extension Array where Element == UInt8 {
    /// The frame holding `string`'s UTF-8 bytes.
    public init(frame string: String) { self = Array(string.utf8) }
}

extension String {
    /// The frame's bytes as UTF-8 text, or `nil` when they are not valid UTF-8.
    public init?(frame: [UInt8]) { self.init(validating: frame, as: UTF8.self) }
}
