import ArgumentParser
import BusProtocol
import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import ServiceRuntime
import Supervisor
import ZeroMQ

/// `contactpoint status`: what the local stack runs and whether it is healthy.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the local stack's brokers, services, instances and health.",
        discussion: "Exits 0 when everything runs and is SERVING, 1 otherwise.")

    @OptionGroup var bus: BusClientOptions
    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let directory = bus.directory
        guard let stack = try? StackState.read(from: directory.stateFile) else {
            print("No stack is running in \(directory.root). Start one with: contactpoint up")
            throw ExitCode(1)
        }
        let (brokers, keyPair) = withConfiguration { () throws(ConfigurationError) in try bus.connection() }
        // In the stack's own order (its processes are recorded as their supervising tasks start); any others after.
        // Front ends (the portal) serve no RPC: their processes are listed, not asked over the bus.
        let running = Set(stack.processes.map(\.service).filter { $0 != "broker" && $0 != StackService.portal.name })
        let known = StackService.all.map(\.name)
        let serviceNames = known.filter(running.contains) + running.subtracting(known).sorted()
        // Worker sessions per broker for each service's first RPC service.
        var workerCounts: [[String: Int]] = []
        for broker in brokers {
            let questions = serviceNames.map {
                (mmi: Majordomo.mmiWorkerCount, name: StackService.named($0)?.rpcServices.first ?? $0)
            }
            let answers = await ManagementQuery(broker: broker, keyPair: keyPair).ask(questions)
            var counts: [String: Int] = [:]
            for (name, answer) in zip(serviceNames, answers) { counts[name] = answer.flatMap(Int.init) }
            workerCounts.append(counts)
        }
        var services: [StatusReport.Service] = []
        for name in serviceNames {
            let processes = stack.processes.filter { $0.service == name }
            services.append(
                StatusReport.Service(
                    name: name, instances: processes.count, running: processes.filter { $0.phase == .running }.count,
                    workers: workerCounts.map { $0[name] },
                    health: await checkHealth(of: name, brokers: brokers, keyPair: keyPair)))
        }
        let report = StatusReport(
            dataDirectory: directory.root, supervisorPID: stack.supervisorPID,
            supervisorRunning: kill(stack.supervisorPID, 0) == 0,
            brokers: zip(stack.brokers, workerCounts).map { broker, counts in
                StatusReport.Broker(
                    name: broker.name, endpoint: broker.endpoint, reachable: counts.count == serviceNames.count)
            },
            services: services, processes: stack.processes, portal: stack.portal)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(report)
        }
        if !report.isHealthy { throw ExitCode(1) }
    }

    private func printTable(_ report: StatusReport) {
        print(
            """
            Stack in \(report.dataDirectory): supervisor pid \(report.supervisorPID) \
            \(report.supervisorRunning ? "running" : "NOT RUNNING")
            """
        )
        print("")
        printColumns(
            [["BROKER", "ENDPOINT", "REACHABLE"]]
                + report.brokers.map { [$0.name, $0.endpoint, $0.reachable ? "yes" : "NO"] })
        if let portal = report.portal { print("\nThe portal: \(portal)") }
        print("")
        printColumns(
            [["SERVICE", "RUNNING", "WORKER SESSIONS (per broker)", "HEALTH"]]
                + report.services.map { service in
                    [
                        service.name, "\(service.running)/\(service.instances)",
                        service.workers.map { $0.map(String.init) ?? "?" }.joined(separator: " / "), service.health,
                    ]
                })
        print("")
        printColumns(
            [["PROCESS", "PID", "PHASE", "RESTARTS", "LAST EXIT"]]
                + report.processes.map {
                    [$0.name, $0.pid.map(String.init) ?? "-", $0.phase.rawValue, "\($0.restarts)", $0.lastExit ?? ""]
                })
    }
}
