import BusTransport
import ContactPointAPI
import Foundation
import GRPCCore
import Supervisor
import Synchronization
import TestSupport
import Testing
import ZeroMQ

/// A stack run by the real `contactpoint up` in a temporary data directory on free ports, and
/// `contactpoint status` to look at it. Everything it started is killed when the test is done.
final class LocalStack: Sendable {
    let directory: StackDirectory
    let up: RunningProcess

    /// At most this many stacks run at once: each is a dozen processes, and more at once on two
    /// cores starve the timing-bound tests running beside them.
    static let permits = Permits(3)

    /// Starts `up` on `root` (a new temporary directory if nil). With `tracingTo`, `up` and every
    /// process it starts run under `strace`, recording their file-system calls to that file
    /// (``SystemCallTrace``); the stack is then slower to start.
    static func start(
        _ arguments: [String] = [], environment: [String: String] = [:], root: String? = nil,
        tracingTo trace: String? = nil
    ) async throws -> LocalStack {
        await permits.acquire()
        do {
            let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("stack-\(UUID())").path
            var command = ["up", "--data-dir", root, "--base-port", "0", "--stop-timeout", "10s"] + arguments
            var executable = "contactpoint"
            if let trace {
                command =
                    SystemCallTrace.straceArguments(output: trace) + [
                        RunningProcess.binDirectory.appendingPathComponent(executable).path
                    ] + command
                executable = try RunningProcess.onPath("strace")
            }
            let up = try RunningProcess(executable, command, name: "up", environment: environment)
            try await up.waitForOutput(
                containing: "[up] ContactPoint is up", timeout: trace == nil ? .seconds(60) : .seconds(180))
            return LocalStack(directory: StackDirectory(root: root), up: up)
        } catch {
            permits.release()
            throw error
        }
    }

    /// Where `contactpoint login --data-dir` keeps the session with this stack.
    var sessionFile: String { "\(directory.root)/session" }

    /// Logs the command line in with `token`, as `contactpoint login` would.
    func saveSession(_ token: String) throws {
        try token.write(toFile: sessionFile, atomically: true, encoding: .utf8)
    }

    private init(directory: StackDirectory, up: RunningProcess) {
        self.directory = directory
        self.up = up
    }

    deinit {
        let pids = (try? StackState.read(from: directory.stateFile))?.processes.compactMap(\.pid) ?? []
        up.killHard()
        for pid in pids { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory.root)
        Self.permits.release()
    }

    /// Cuts the power: SIGKILL to `up` and every process it started, all at once; returns when
    /// `up` (or the `strace` running it, which has then written its whole record) has exited.
    func cutPower() async throws {
        let state = try state
        for pid in [state.supervisorPID] + state.processes.compactMap(\.pid) { kill(pid, SIGKILL) }
        _ = await up.exited()
    }

    var state: StackState {
        get throws { try StackState.read(from: directory.stateFile) }
    }

    func pid(of process: String) throws -> pid_t {
        guard let pid = try state.processes.first(where: { $0.name == process })?.pid else {
            throw StackNotReady(waitingFor: "a pid for \(process)", output: up.text)
        }
        return pid
    }

    /// Runs `contactpoint status --json`: the report and the exit status.
    func status() async throws -> (report: StatusReport, exitStatus: Int32) {
        let status = try RunningProcess(
            "contactpoint", ["status", "--json", "--data-dir", directory.root], name: "status")
        let exitStatus = await status.exited()
        let json = status.text
        guard let start = json.firstIndex(of: "{") else {
            throw StackNotReady(waitingFor: "a JSON report", output: json)
        }
        return (try JSONDecoder().decode(StatusReport.self, from: Data(json[start...].utf8)), exitStatus)
    }

    /// Asks `status` until `condition` holds (workers register a few heartbeats after start).
    @discardableResult
    func waitForStatus(
        _ what: String, timeout: Duration = .seconds(30), _ condition: (StatusReport) -> Bool
    ) async throws -> StatusReport {
        var last: StatusReport?
        do {
            return try await eventually("status \(what)", timeout: timeout, every: .milliseconds(200)) {
                let (report, _) = try await status()
                last = report
                return condition(report) ? report : nil
            }
        } catch is NeverHappened {
            throw StackNotReady(waitingFor: what, output: "\(String(describing: last))\n\(up.text.suffix(3000))")
        }
    }

    /// Runs `body` with an echo client of the stack's operator.
    func withEchoClient<T: Sendable>(
        _ body: @Sendable (Contactpoint_V1_Echo.Client<BusClientTransport>) async throws -> T
    ) async throws -> T {
        var config = try operatorClientConfig()
        config.retryUnavailable(services: [Contactpoint_V1_Echo.descriptor.fullyQualifiedService])
        return try await withGRPCClient(transport: try BusClientTransport(config: config)) { client in
            try await body(Contactpoint_V1_Echo.Client(wrapping: client))
        }
    }
}

extension LocalStack {
    /// A bus client configuration for the stack's brokers, with the operator's key.
    func operatorClientConfig() throws -> BusClientTransport.Config {
        let brokers = try state.brokers.map {
            BrokerAddress(endpoint: $0.endpoint, publicKey: try KeyFile.readPublicKey(at: $0.publicKeyFile))
        }
        return BusClientTransport.Config(
            brokers: brokers,
            keyPair: try KeyFile.readKeyPair(at: directory.keyFile(principal: StackDirectory.operatorPrincipal)))
    }
}

extension LocalStack {
    /// Runs `call` from `callers` concurrent tasks for 3 seconds and kills `process` with SIGKILL
    /// after 1; returns what every successful call acknowledged. A call in flight when the process
    /// dies may fail, with UNAVAILABLE or DEADLINE_EXCEEDED only: nothing it carried was acknowledged.
    func burst<T: Sendable>(
        callers: Int, killing process: String, _ call: @escaping @Sendable (_ caller: Int) async throws -> [T]
    ) async throws -> [T] {
        let pid = try pid(of: process)
        return try await withThrowingTaskGroup(of: [T].self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var acknowledged: [T] = []
                    let until = ContinuousClock.now + .seconds(3)
                    while ContinuousClock.now < until {
                        do {
                            acknowledged += try await call(caller)
                        } catch let error as RPCError {
                            #expect([.unavailable, .deadlineExceeded].contains(error.code), "\(error)")
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    return acknowledged
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))
                kill(pid, SIGKILL)
                return []
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }
}

/// A counting semaphore for tasks: `acquire` waits (without blocking a thread) until a permit is free.
final class Permits: Sendable {
    private let state: Mutex<(available: Int, waiters: [CheckedContinuation<Void, Never>])>

    init(_ count: Int) { state = Mutex((count, [])) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                guard state.available > 0 else {
                    state.waiters.append(continuation)
                    return false
                }
                state.available -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

struct StackNotReady: Error, CustomStringConvertible {
    var waitingFor: String
    var output: String
    var description: String { "waiting for \(waitingFor); got:\n\(output)" }
}

/// Whether `pid` is a live process (a zombie no one has reaped yet counts as gone).
func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return !stat[close...].hasPrefix(") Z")
}
