/// What `contactpoint status` finds: the stack's brokers, each service's instances, the worker
/// sessions each broker has for it, and its health. Printed as a table or as JSON (`--json`).
public struct StatusReport: Codable, Sendable {
    public struct Broker: Codable, Sendable {
        public var name: String
        public var endpoint: String
        /// Whether the broker answered a management query.
        public var reachable: Bool

        public init(name: String, endpoint: String, reachable: Bool) {
            self.name = name
            self.endpoint = endpoint
            self.reachable = reachable
        }
    }

    public struct Service: Codable, Sendable {
        public var name: String
        /// Instances `up` runs, and how many of them are running now.
        public var instances: Int
        public var running: Int
        /// Worker sessions registered with each broker, in broker order (`nil`: no answer).
        public var workers: [Int?]
        /// The gRPC health status ("SERVING", "NOT_SERVING", …), or why it is unknown.
        public var health: String

        public init(name: String, instances: Int, running: Int, workers: [Int?], health: String) {
            self.name = name
            self.instances = instances
            self.running = running
            self.workers = workers
            self.health = health
        }
    }

    public var dataDirectory: String
    public var supervisorPID: Int32
    public var supervisorRunning: Bool
    public var brokers: [Broker]
    public var services: [Service]
    public var processes: [StackState.Process]
    /// The web portal's address, when the stack runs one (its process is among `processes`).
    public var portal: String?

    public init(
        dataDirectory: String, supervisorPID: Int32, supervisorRunning: Bool, brokers: [Broker], services: [Service],
        processes: [StackState.Process], portal: String? = nil
    ) {
        self.portal = portal
        self.dataDirectory = dataDirectory
        self.supervisorPID = supervisorPID
        self.supervisorRunning = supervisorRunning
        self.brokers = brokers
        self.services = services
        self.processes = processes
    }

    /// Everything runs, every broker answers and every service is SERVING.
    public var isHealthy: Bool {
        supervisorRunning && brokers.allSatisfy(\.reachable)
            && services.allSatisfy { $0.health == "SERVING" && $0.running == $0.instances }
            && processes.allSatisfy { $0.phase == .running }
    }
}
