import Broker
import Foundation
public import Logging
public import ServiceLifecycle
import Subprocess
import Synchronization
import SystemPackage

/// Runs a whole ContactPoint stack on one machine, as `contactpoint up`: the brokers, then every
/// service instance, each a separate OS process in its own process group, restarted with backoff
/// when it exits unasked, its output printed line by line with its name in front.
///
/// Graceful shutdown stops the services first (SIGTERM: each drains its calls in flight, which
/// still need the brokers to reach their callers), then the brokers; whatever has not exited
/// after ``Config/stopTimeout`` is killed. What runs is kept in `stack.json` for
/// `contactpoint status`.
public final class StackSupervisor: Service, Sendable {
    public struct Config: Sendable {
        public var directory: StackDirectory
        /// Where the `contactpoint-*` executables are.
        public var binDirectory: String
        public var brokerCount = 2
        /// Broker N binds port `basePort + 10 × (N − 1)`; 0 lets the system choose free ports,
        /// which a restarted broker then keeps.
        public var basePort = 5555
        public var host = "127.0.0.1"
        /// Instances per service name; one where not given.
        public var scale: [String: Int] = [:]
        public var services = StackService.all
        /// How long a process may take to exit after SIGTERM before it is killed.
        public var stopTimeout: Duration = .seconds(20)
        /// Run with each service's demo settings too (`contactpoint up --demo`).
        public var demo = false
        /// The web portal's HTTPS port on `localhost`; 0: a free port; `nil`: no portal.
        public var portalPort: Int? = 8443
        public var backoff = RestartBackoff()
        /// Returns once every one of these services answers SERVING (true), or false when the
        /// stack stops first: the welcome, "ContactPoint is up", waits for it. `up` gives it, as
        /// it has a bus client; without it the welcome follows the start of the processes.
        public var untilServing: (@Sendable ([String]) async -> Bool)?

        public init(directory: StackDirectory, binDirectory: String) {
            self.directory = directory
            self.binDirectory = binDirectory
        }
    }

    /// A process the supervisor keeps running.
    struct Child: Sendable {
        enum Group: Sendable { case brokers, services }
        var name: String
        var service: String
        var group: Group
        var executable: String
        var configFile: String
    }

    private struct State {
        var stack: StackState
        var pids: [String: pid_t] = [:]
        var stopping: Set<Child.Group> = []
    }

    public let config: Config
    private let logger: Logger
    private let state: Mutex<State>
    private let announcedEndpoints: AsyncStream<(Int, Broker.Endpoints)>
    private let announceEndpoints: AsyncStream<(Int, Broker.Endpoints)>.Continuation
    private let printLock = Mutex(())

    public init(config: Config, logger: Logger) {
        self.config = config
        self.logger = logger
        self.state = Mutex(State(stack: StackState(supervisorPID: getpid())))
        (announcedEndpoints, announceEndpoints) = AsyncStream.makeStream()
    }

    public func run() async throws {
        let directory = config.directory
        let brokerNames = (1...config.brokerCount).map { "broker-\($0)" }
        let firstRun = try directory.prepare(brokers: brokerNames, services: config.services + frontEnds)
        try directory.writeAllowList(services: config.services + frontEnds, brokers: brokerNames)

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { brokers in
                // Whatever happens below, the brokers are stopped last.
                defer { stop(.brokers) }
                for (index, name) in brokerNames.enumerated() {
                    let port = config.basePort == 0 ? nil : config.basePort + 10 * index
                    let child = Child(
                        name: name, service: "broker", group: .brokers, executable: "contactpoint-broker",
                        configFile: try writeBrokerConfig(name: name, port: port))
                    brokers.addTask { await self.supervise(child, brokerIndex: index) }
                }
                guard let endpoints = try await waitForBrokers(count: brokerNames.count) else { return }
                let children = try writeServiceConfigs(brokerEndpoints: endpoints, brokerNames: brokerNames)
                await withDiscardingTaskGroup { services in
                    for child in children { services.addTask { await self.supervise(child, brokerIndex: nil) } }
                    services.addTask {
                        if let untilServing = self.config.untilServing {
                            self.say("waiting for every service to answer SERVING…")
                            guard await untilServing(self.config.services.map(\.name)) else { return }
                        }
                        self.printWelcome(firstRun: firstRun, instances: children.count)
                    }
                }
            }
        } onGracefulShutdown: {
            self.stop(.services)
            self.announceEndpoints.finish()
        }
        try? FileManager.default.removeItem(atPath: directory.stateFile)
    }

    // MARK: Starting

    private var frontEnds: [StackService] { config.portalPort == nil ? [] : [StackService.portal] }

    private func writeBrokerConfig(name: String, port: Int?) throws -> String {
        try writeBrokerConfig(
            name: name, endpoints: Broker.Endpoints(requests: "tcp://\(config.host):\(port.map { "\($0)" } ?? "*")"))
    }

    private func writeBrokerConfig(name: String, endpoints: Broker.Endpoints) throws -> String {
        try config.directory.writeConfig(
            process: name,
            settings: [
                ("endpoint", endpoints.requests),
                ("key-file", config.directory.keyFile(principal: name)), ("allow-list", config.directory.allowListFile),
                ("gateway-registry", "true"),
            ])
    }

    /// Waits until every broker has printed the endpoints it bound; fixes them in the brokers'
    /// configuration so that a restarted broker binds the same ports. `nil` if shutdown began first.
    private func waitForBrokers(count: Int) async throws -> [Broker.Endpoints]? {
        var endpoints: [Int: Broker.Endpoints] = [:]
        for await (index, bound) in announcedEndpoints where endpoints[index] == nil {
            endpoints[index] = bound
            let name = "broker-\(index + 1)"
            _ = try writeBrokerConfig(name: name, endpoints: bound)
            updateStack { stack in
                stack.brokers.append(
                    StackState.Broker(
                        name: name, endpoint: bound.requests,
                        publicKeyFile: config.directory.publicKeyFile(principal: name)))
                stack.brokers.sort { $0.name < $1.name }
            }
            if endpoints.count == count { return (0..<count).map { endpoints[$0]! } }
        }
        return nil
    }

    private func writeServiceConfigs(brokerEndpoints: [Broker.Endpoints], brokerNames: [String]) throws -> [Child] {
        let brokers = zip(brokerEndpoints, brokerNames).map { endpoints, name in
            ("broker", "\(endpoints.requests),\(config.directory.publicKeyFile(principal: name))")
        }
        // The portal's origin first: identity verifies passkeys for it.
        let portalOrigin = try config.portalPort.map { port in
            let port = port == 0 ? try Self.freeLocalPort() : port
            return port == 443 ? "https://localhost" : "https://localhost:\(port)"
        }
        var children: [Child] = []
        for service in config.services {
            let passkeySettings =
                service.name == "identity"
                ? portalOrigin.map { [("passkey-relying-party-id", "localhost"), ("passkey-origin", $0)] } ?? [] : []
            for number in 1...max(1, config.scale[service.name] ?? 1) {
                let name = "\(service.name)-\(number)"
                let data = service.dataFiles.map {
                    ($0.key, "\(config.directory.dataDirectory(service: service.name))/\($0.name)")
                }
                let file = try config.directory.writeConfig(
                    process: name,
                    settings: brokers + [
                        ("key-file", config.directory.keyFile(principal: service.name)), ("instance", name),
                    ]
                        + data
                        + (service.settings + (config.demo ? service.demoSettings : [])).map { ($0.key, $0.value) }
                        + passkeySettings)
                children.append(
                    Child(
                        name: name, service: service.name, group: .services, executable: service.executable,
                        configFile: file))
            }
        }
        if let portalOrigin {
            children.append(try writePortalConfig(origin: portalOrigin, brokers: brokers))
        }
        return children
    }

    /// One portal at `origin` on `localhost` (its port kept across the portal's restarts), with a
    /// self-signed certificate it makes on first start.
    private func writePortalConfig(origin: String, brokers: [(String, String)]) throws -> Child {
        let portal = StackService.portal
        let port = URLComponents(string: origin)?.port ?? 443
        let data = portal.dataFiles.map {
            ($0.key, "\(config.directory.dataDirectory(service: portal.name))/\($0.name)")
        }
        let file = try config.directory.writeConfig(
            process: "portal-1",
            settings: brokers + [
                ("key-file", config.directory.keyFile(principal: portal.name)), ("instance", "portal-1"),
                ("listen-port", "\(port)"), ("origin", origin),
            ] + data + portal.settings.map { ($0.key, $0.value) })
        updateStack { $0.portal = origin }
        return Child(
            name: "portal-1", service: portal.name, group: .services, executable: portal.executable, configFile: file)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    private static func freeLocalPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: Supervising

    /// Keeps `child` running until its group is stopped.
    private func supervise(_ child: Child, brokerIndex: Int?) async {
        var backoff = config.backoff
        updateStack {
            $0.processes.append(.init(name: child.name, service: child.service, phase: .starting, restarts: 0))
        }
        while !isStopping(child.group) {
            let started = ContinuousClock.now
            let exit = await launch(child, brokerIndex: brokerIndex)
            if isStopping(child.group) {
                updateProcess(child.name) {
                    $0.phase = .stopped
                    $0.pid = nil
                    $0.lastExit = exit
                }
                return
            }
            let delay = backoff.delay(afterRunOf: started.duration(to: .now))
            updateProcess(child.name) {
                $0.phase = .restarting
                $0.pid = nil
                $0.lastExit = exit
                $0.restarts += 1
            }
            say(
                """
                \(child.name) \(exit); restarting in \
                \(delay.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))
                """
            )
            let until = ContinuousClock.now + delay
            while ContinuousClock.now < until, !isStopping(child.group) {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Runs `child` once, to its exit; returns how it ended.
    private func launch(_ child: Child, brokerIndex: Int?) async -> String {
        let executable = FilePath("\(config.binDirectory)/\(child.executable)")
        var options = PlatformOptions()
        // Its own process group: Ctrl-C at the terminal reaches `up` alone, which then stops
        // the processes in order.
        options.processGroupID = 0
        do {
            let result = try await Subprocess.run(
                .path(executable), arguments: ["--config", child.configFile],
                environment: .inherit.updating(["CONTACTPOINT_SUPERVISOR_PID": "\(getpid())"]),
                platformOptions: options, input: .none, output: .sequence, error: .combinedWithOutput
            ) { execution in
                started(child, pid: execution.processIdentifier.value)
                for try await line in execution.standardOutput.strings() {
                    if let brokerIndex, line.hasPrefix("{"),
                        let endpoints = try? JSONDecoder().decode(Broker.Endpoints.self, from: Data(line.utf8))
                    {
                        announceEndpoints.yield((brokerIndex, endpoints))
                    }
                    printLine("[\(child.name)] \(line)")
                }
            }
            return switch result.terminationStatus {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "was killed by signal \(signal)"
            }
        } catch {
            return "could not start (\(error))"
        }
    }

    private func started(_ child: Child, pid: pid_t) {
        let stopNow = state.withLock { state in
            state.pids[child.name] = pid
            return state.stopping.contains(child.group)
        }
        updateProcess(child.name) {
            $0.pid = pid
            $0.phase = stopNow ? .stopping : .running
        }
        if stopNow { kill(pid, SIGTERM) }
    }

    private func isStopping(_ group: Child.Group) -> Bool {
        state.withLock { $0.stopping.contains(group) }
    }

    /// SIGTERM to every process of `group`, SIGKILL to any still there after the stop timeout.
    private func stop(_ group: Child.Group) {
        let pids = state.withLock { state -> [String: pid_t] in
            state.stopping.insert(group)
            return state.pids.filter { name, _ in
                state.stack.processes.contains { $0.name == name && self.group(of: $0) == group }
            }
        }
        updateStack { stack in
            for index in stack.processes.indices where self.group(of: stack.processes[index]) == group {
                stack.processes[index].phase = .stopping
            }
        }
        for pid in pids.values { kill(pid, SIGTERM) }
        let timeout = config.stopTimeout
        Thread.detachNewThread {
            Thread.sleep(
                forTimeInterval: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
            for pid in pids.values where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
    }

    private func group(of process: StackState.Process) -> Child.Group {
        process.service == "broker" ? .brokers : .services
    }

    // MARK: State and output

    private func updateProcess(_ name: String, _ change: (inout StackState.Process) -> Void) {
        updateStack { stack in
            if let index = stack.processes.firstIndex(where: { $0.name == name }) { change(&stack.processes[index]) }
        }
    }

    private func updateStack(_ change: (inout StackState) -> Void) {
        state.withLock { state in
            change(&state.stack)
            do {
                try state.stack.write(to: config.directory.stateFile)
            } catch {
                logger.error("cannot write the stack state", metadata: ["error": "\(error)"])
            }
        }
    }

    private func printWelcome(firstRun: Bool, instances: Int) {
        let (brokers, portal) = state.withLock { ($0.stack.brokers.map(\.endpoint), $0.stack.portal) }
        say(
            """
            ContactPoint is up: \(brokers.count) brokers (\(brokers.joined(separator: ", "))), \(instances) service \
            instances.
            \(portal.map { "The portal: \($0) (its certificate is its own: the browser warns once).\n" } ?? "")\
            \(firstRun ? "Created" : "Using") the data directory \(config.directory.root) (keys, configuration, \
            databases).
            On a new system the identity service prints, once, the enrolment code of the first
            administrator (\(StackService.bootstrapAdministrator)). Next, in another terminal:
              contactpoint enrol --email \(StackService.bootstrapAdministrator) --code CODE
                                         choose a password, add the key to an authenticator app
              contactpoint login --email \(StackService.bootstrapAdministrator)
              contactpoint whoami        who your session says you are
              contactpoint status        brokers, services, instances and health
              contactpoint echo          one call through the bus, answered by an echo instance
            Ctrl-C here stops everything cleanly.
            """)
        if config.directory.root != StackDirectory.defaultRoot() {
            say(
                """
                This data directory is not the default: give each command --data-dir \(config.directory.root), or
                export CONTACTPOINT_DATA_DIR=\(config.directory.root) in that terminal.
                """)
        }
        if config.demo {
            say(
                """
                Demo world: on a new system the identity service prints each demo account's password and TOTP
                secret, once. Then: contactpoint code --secret SECRET; contactpoint login --email sam@hillside.demo;
                contactpoint search --given NAME --family NAME --reason contact-practitioners (README: Five minutes \
                with it).
                """)
        }
    }

    private func say(_ text: String) {
        for line in text.split(separator: "\n") { printLine("[up] \(line)") }
    }

    private func printLine(_ line: String) {
        printLock.withLock { _ in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }
}
