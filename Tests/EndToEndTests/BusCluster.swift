import Broker
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Logging
import Synchronization
import ZeroMQ

/// Real brokers and echo workers as separate processes on loopback, with their keys and
/// allow-list in a temporary directory: the bus as it runs in production, at test scale.
final class BusCluster: Sendable {
    let directory: String
    let heartbeatMillis: Int
    let brokerProcesses: [RunningProcess]
    let brokerEndpoints: [Broker.Endpoints]
    let brokerAddresses: [BrokerAddress]
    let clientKeys: CurveKeyPair
    /// Another allow-listed client, `other-client`: a second principal with its own share.
    let otherClientKeys: CurveKeyPair
    /// A well-formed key that is on no allow-list.
    let strangerKeys: CurveKeyPair
    private let workers = Mutex<[String: RunningProcess]>([:])

    /// Heartbeat expiry of the cluster: how long a dead worker can go unnoticed.
    var heartbeatExpiry: Duration { .milliseconds(heartbeatMillis * 3) }

    static func start(brokers brokerCount: Int = 2, workers names: [String] = [], heartbeatMillis: Int = 200)
        async throws -> BusCluster
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bus-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let clientKeys = try CurveKeyPair.generate()
        let otherClientKeys = try CurveKeyPair.generate()
        let echoKeys = try CurveKeyPair.generate()
        try KeyFile.write(clientKeys, name: "client", into: directory)
        try KeyFile.write(echoKeys, name: "echo", into: directory)
        try """
        # principal  key  services
        echo \(echoKeys.publicKey.z85) contactpoint.v1.Echo,grpc.health.v1.Health,grpc.health.v1.Health/echo
        test-client \(clientKeys.publicKey.z85)
        other-client \(otherClientKeys.publicKey.z85)
        """.write(toFile: "\(directory)/allow-list", atomically: true, encoding: .utf8)

        var processes: [RunningProcess] = []
        var endpoints: [Broker.Endpoints] = []
        var addresses: [BrokerAddress] = []
        for index in 1...brokerCount {
            let keys = try CurveKeyPair.generate()
            try KeyFile.write(keys, name: "broker-\(index)", into: directory)
            let process = try RunningProcess(
                "contactpoint-broker",
                [
                    "--endpoint", "tcp://127.0.0.1:*",
                    "--key-file", "\(directory)/broker-\(index).key", "--allow-list", "\(directory)/allow-list",
                    "--heartbeat", "\(heartbeatMillis)ms", "--max-queue", "64", "--max-queue-per-principal", "32",
                    "--log-level", "info",
                ],
                name: "broker-\(index)")
            try await process.waitForOutput(containing: "\"requests\"")
            guard let line = process.text.split(separator: "\n").first(where: { $0.hasPrefix("{") }) else {
                throw ProcessTimeout(process: process.name, waitingFor: "endpoints line", output: process.text)
            }
            let bound = try JSONDecoder().decode(Broker.Endpoints.self, from: Data(line.utf8))
            processes.append(process)
            endpoints.append(bound)
            addresses.append(BrokerAddress(endpoint: bound.requests, publicKey: keys.publicKey))
        }
        let cluster = BusCluster(
            directory: directory, heartbeatMillis: heartbeatMillis, brokerProcesses: processes,
            brokerEndpoints: endpoints,
            brokerAddresses: addresses, clientKeys: clientKeys, otherClientKeys: otherClientKeys,
            strangerKeys: try CurveKeyPair.generate())
        for name in names { try cluster.startWorker(name) }
        return cluster
    }

    private init(
        directory: String, heartbeatMillis: Int, brokerProcesses: [RunningProcess], brokerEndpoints: [Broker.Endpoints],
        brokerAddresses: [BrokerAddress], clientKeys: CurveKeyPair, otherClientKeys: CurveKeyPair,
        strangerKeys: CurveKeyPair
    ) {
        self.directory = directory
        self.heartbeatMillis = heartbeatMillis
        self.brokerProcesses = brokerProcesses
        self.brokerEndpoints = brokerEndpoints
        self.brokerAddresses = brokerAddresses
        self.clientKeys = clientKeys
        self.otherClientKeys = otherClientKeys
        self.strangerKeys = strangerKeys
    }

    deinit {
        for worker in workers.withLock({ Array($0.values) }) { worker.killHard() }
        for broker in brokerProcesses { broker.killHard() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts an echo worker process registered with every broker.
    func startWorker(_ name: String, sessions: Int = 2) throws {
        var arguments = ["--key-file", "\(directory)/echo.key", "--instance", name, "--sessions", "\(sessions)"]
        arguments += ["--heartbeat", "\(heartbeatMillis)ms", "--log-level", "debug"]
        for (index, endpoints) in brokerEndpoints.enumerated() {
            arguments += ["--broker", "\(endpoints.requests),\(directory)/broker-\(index + 1).pub"]
        }
        let process = try RunningProcess("contactpoint-echo", arguments, name: name)
        workers.withLock { $0[name] = process }
    }

    func worker(_ name: String) -> RunningProcess? { workers.withLock { $0[name] } }

    /// Runs `body` with an echo client over every broker. `retry` retries UNAVAILABLE for Echo.
    func withEchoClient<T: Sendable>(
        keys: CurveKeyPair? = nil, retry: Bool = true,
        _ body: @Sendable (Contactpoint_V1_Echo.Client<BusClientTransport>) async throws -> T
    ) async throws -> T {
        var config = BusClientTransport.Config(brokers: brokerAddresses, keyPair: keys ?? clientKeys)
        if retry { config.retryUnavailable(services: [Contactpoint_V1_Echo.descriptor.fullyQualifiedService]) }
        var logger = Logger(label: "test.client")
        logger.logLevel = .warning
        return try await withGRPCClient(transport: try BusClientTransport(config: config, logger: logger)) { client in
            try await body(Contactpoint_V1_Echo.Client(wrapping: client))
        }
    }
}

/// Calls until every named instance has answered: the workers are registered with a broker.
func waitUntilServing(_ echo: Contactpoint_V1_Echo.Client<BusClientTransport>, instances: Set<String>) async throws {
    var seen: Set<String> = []
    for _ in 0..<500 where !instances.isSubset(of: seen) {
        seen.insert(try await echo.get(.with { $0.text = "ready?" }).servedBy)
    }
    guard instances.isSubset(of: seen) else { throw ClusterNotReady(missing: instances.subtracting(seen)) }
}

struct ClusterNotReady: Error {
    var missing: Set<String>
}
