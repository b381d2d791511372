import DurableFiles
import Foundation

/// What `contactpoint up` is running, written to `stack.json` in the data directory whenever it
/// changes, for `contactpoint status` and for operators.
public struct StackState: Codable, Sendable, Equatable {
    public struct Broker: Codable, Sendable, Equatable {
        public var name: String
        /// The endpoint clients and workers connect to, with the port actually bound.
        public var endpoint: String
        public var publicKeyFile: String
    }

    public struct Process: Codable, Sendable, Equatable {
        public enum Phase: String, Codable, Sendable {
            case starting, running, restarting, stopping, stopped
        }

        /// "broker-1", "echo-2", …
        public var name: String
        /// The kind of service ("broker" for brokers).
        public var service: String
        public var pid: Int32?
        public var phase: Phase
        public var restarts: Int
        public var lastExit: String?
    }

    public var supervisorPID: Int32
    public var brokers: [Broker] = []
    public var processes: [Process] = []
    /// The web portal's address (its origin), when `up` runs one.
    public var portal: String?

    public init(supervisorPID: Int32) {
        self.supervisorPID = supervisorPID
    }

    /// Writes the state atomically and durably (a reader never sees half a file; see `DurableFile`).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.write(Array(encoder.encode(self)), to: path)
    }

    public static func read(from path: String) throws -> StackState {
        try JSONDecoder().decode(StackState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
