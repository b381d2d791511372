import ArgumentParser
import DurableFiles
import Foundation
import Logging
import ServiceLifecycle
import ServiceRuntime
import Supervisor

/// `contactpoint up`: the whole stack on this machine, supervised, until Ctrl-C.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole ContactPoint stack on this machine: two brokers and every service.",
        discussion: """
            Keys, configuration and databases live in the data directory, created on the first run and \
            reused after. Each process is restarted with backoff if it exits; Ctrl-C stops the services \
            (each drains its calls in flight), then the brokers. Settings for every service can be given \
            as CONTACTPOINT_* variables, e.g. CONTACTPOINT_LOG_LEVEL=info.
            """)

    @Option(help: "The data directory (default: $CONTACTPOINT_DATA_DIR or ~/.local/share/contactpoint).")
    var dataDir: String?
    @Option(help: "Instances of a service as NAME=COUNT, e.g. echo=3; repeat for each service.")
    var scale: [String] = []
    @Option(help: "The first broker's port; broker N uses this + 10×(N−1) and the two after it. 0: any free ports.")
    var basePort = 5555
    @Option(help: "The web portal's HTTPS port on localhost (default 8443; any free port with --base-port 0).")
    var portalPort: Int?
    @Flag(help: "Run no web portal.")
    var noPortal = false
    @Option(help: "How many brokers to run.")
    var brokers = 2
    @Option(help: "How long a process may take to stop after SIGTERM before it is killed, e.g. 20s.")
    var stopTimeout = "20s"
    @Flag(
        help:
            """
            On a new data directory, create a demo world: a local authority's school, GP, social care, youth \
            offending team and voluntary service, a practitioner in each (credentials printed once) and 10,000 \
            synthetic children.
            """
    )
    var demo = false

    func validate() throws {
        _ = try scaleByService()
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers is from 1 to 9") }
        guard basePort == 0 || (1024...65000).contains(basePort) else {
            throw ValidationError("--base-port is 0 or from 1024 to 65000")
        }
        if let portalPort, portalPort != 0, portalPort != 443, !(1024...65535).contains(portalPort) {
            throw ValidationError("--portal-port is 0, 443 or from 1024 to 65535")
        }
    }

    private func scaleByService() throws -> [String: Int] {
        var result: [String: Int] = [:]
        for entry in scale {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let count = Int(parts[1]), (1...64).contains(count) else {
                throw ValidationError("--scale takes NAME=COUNT with COUNT from 1 to 64, e.g. echo=3; got \(entry)")
            }
            guard StackService.named(String(parts[0])) != nil else {
                let names = StackService.all.map(\.name).joined(separator: ", ")
                throw ValidationError("--scale: no service is called \(parts[0]); the services are \(names)")
            }
            result[String(parts[0])] = count
        }
        return result
    }

    func run() async throws {
        LoggingSystem.bootstrapStandardError(level: .notice)
        let logger = Logger(label: "contactpoint-up")
        let directory = StackDirectory(root: dataDir ?? StackDirectory.defaultRoot())
        let binDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .path
        for executable in ["contactpoint-broker"] + (StackService.all + [StackService.portal]).map(\.executable)
        where !FileManager.default.isExecutableFile(atPath: "\(binDirectory)/\(executable)") {
            throw ValidationError(
                "\(executable) is not beside contactpoint in \(binDirectory); build the package first (swift build)")
        }
        try DurableFile.createDirectory(directory.root, mode: 0o700)
        try lockDataDirectory(directory)

        var config = StackSupervisor.Config(directory: directory, binDirectory: binDirectory)
        config.scale = try scaleByService()
        config.demo = demo
        config.basePort = basePort
        config.brokerCount = brokers
        config.portalPort = noPortal ? nil : portalPort ?? (basePort == 0 ? 0 : 8443)
        config.stopTimeout = withConfiguration { () throws(ConfigurationError) in
            try ConfigurationValue.parsing("stop-timeout", stopTimeout, ConfigurationValue.duration)
        }
        let bus = try BusClientOptions.parse(["--data-dir", directory.root])
        config.untilServing = { services in
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                if let (brokers, keyPair) = try? bus.connection() {
                    var serving = true
                    for service in services where serving {
                        serving = await checkHealth(of: service, brokers: brokers, keyPair: keyPair) == "SERVING"
                    }
                    if serving { return true }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            return false
        }
        var groupConfig = ServiceGroupConfiguration(
            services: [.init(service: StackSupervisor(config: config, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Services and then brokers each get the stop timeout.
        groupConfig.maximumGracefulShutdownDuration = config.stopTimeout * 2 + .seconds(5)
        try await ServiceGroup(configuration: groupConfig).run()
    }

    /// One `up` per data directory: a second would fight the first over ports and files.
    private func lockDataDirectory(_ directory: StackDirectory) throws {
        let fd = open("\(directory.root)/up.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw ValidationError("another `contactpoint up` is running with the data directory \(directory.root)")
        }
        // Held until this process exits.
    }
}
