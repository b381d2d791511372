import Foundation
import Synchronization

/// A real executable started by a test, with its combined output captured so the test can wait
/// for a line to appear (an event) instead of sleeping. Killed when the test is done with it.
final class RunningProcess: @unchecked Sendable {
    let name: String
    let pid: pid_t
    private struct Output {
        var text = ""
        var waiters: [UUID: (needle: String, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let output = Mutex(Output())
    /// Set by the reader once the output pipe reached its end.
    private let outputEnded = Atomic(false)
    private let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    /// Where the package's executables are: beside the test bundle in the build directory.
    static let binDirectory: URL = {
        if let override = ProcessInfo.processInfo.environment["CONTACTPOINT_BIN"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }()

    /// The path of `command` in a directory of `PATH`.
    static func onPath(_ command: String) throws -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard
            let found = directories.map({ "\($0)/\(command)" }).first(
                where: FileManager.default.isExecutableFile(atPath:))
        else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: command])
        }
        return found
    }

    /// `input`, when given, is written to the process's standard input, which is then closed.
    ///
    /// Started with `posix_spawn`, not Foundation's `Process`: on Linux, `Process.run()` now and
    /// then crashes the test process (an over-read of `/proc/self/fd` entries,
    /// swift-corelibs-foundation#5472).
    init(
        _ executable: String, _ arguments: [String], name: String, environment: [String: String] = [:],
        input: String? = nil
    ) throws {
        self.name = name
        let path = executable.hasPrefix("/") ? executable : Self.binDirectory.appendingPathComponent(executable).path
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let outputPipe = try Self.pipe()
        let inputPipe = try input.map { _ in try Self.pipe() }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let inputPipe { posix_spawn_file_actions_adddup2(&actions, inputPipe.read, 0) }
        posix_spawn_file_actions_adddup2(&actions, outputPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, outputPipe.write, 2)
        // Nothing else of the test process leaks into the child (as Foundation's Process ensured).
        _ = Self.closeFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default dispositions and no blocked signals: a signal the test process ignores or
        // blocks (services run in-process set SIGTERM to be handled) must still reach the child.
        var all = sigset_t()
        var none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var spawnedPID: pid_t = 0
        let spawned = posix_spawn(&spawnedPID, path, &actions, &attributes, argv, envp)
        close(outputPipe.write)
        if let inputPipe { close(inputPipe.read) }
        guard spawned == 0 else {
            close(outputPipe.read)
            if let inputPipe { close(inputPipe.write) }
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO, userInfo: [NSFilePathErrorKey: path])
        }
        let pid = spawnedPID
        self.pid = pid

        // A thread of its own waits for the exit (waitpid blocks), and another reads the output
        // with blocking reads until EOF.
        Thread.detachNewThread { [weak self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            // As Foundation's terminationStatus: the exit code, or the signal that ended it.
            self?.ended((status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f)
        }
        let reader = outputPipe.read
        Thread.detachNewThread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(reader, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                self?.append(Array(buffer.prefix(count)))
            }
            close(reader)
            self?.outputEnded.store(true, ordering: .releasing)
        }
        if let inputPipe, let input {
            let bytes = Array(input.utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes[written...].withUnsafeBytes { Glibc.write(inputPipe.write, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                written += count
            }
            close(inputPipe.write)
        }
    }

    /// A pipe whose ends are closed in any child at exec (the child gets its own through dup2):
    /// made close-on-exec atomically, so that a process another test starts meanwhile does not
    /// inherit it and hold its output open.
    private static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return (ends[0], ends[1])
    }

    // glibc has both (2.9, 2.34), but Swift's Glibc module declares neither without _GNU_SOURCE.
    private static let pipe2 = unsafeBitCast(
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2"),
        to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    private static let closeFrom = unsafeBitCast(
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"),
        to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)

    private func ended(_ status: Int32) {
        let waiters = exit.withLock { exit in
            exit.status = status
            defer { exit.waiters = [] }
            return exit.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    private func append(_ bytes: [UInt8]) {
        let ready = output.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.text += String(decoding: bytes, as: UTF8.self)
            let text = state.text
            let found = state.waiters.filter { text.contains($0.value.needle) }
            for id in found.keys { state.waiters.removeValue(forKey: id) }
            return found.values.map(\.continuation)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Waits for the process to exit, without holding a thread; returns its exit status.
    /// Its output is then complete too: the last bytes can reach the reader just after the
    /// exit is reported, so this also waits (up to 2 s) for the end of the output.
    func exited() async -> Int32 {
        let status = await withCheckedContinuation { continuation in
            let status = exit.withLock { exit -> Int32? in
                if exit.status == nil { exit.waiters.append(continuation) }
                return exit.status
            }
            if let status { continuation.resume(returning: status) }
        }
        for _ in 0..<200 where !outputEnded.load(ordering: .acquiring) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return status
    }

    deinit {
        if isRunning { kill(pid, SIGKILL) }
    }

    var isRunning: Bool { exit.withLock { $0.status == nil } }
    var text: String { output.withLock { $0.text } }

    /// Waits until the output contains `needle`; fails after `timeout`.
    func waitForOutput(containing needle: String, timeout: Duration = .seconds(20)) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let id = UUID()
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let found = self.output.withLock { state -> Bool in
                            if state.text.contains(needle) || Task.isCancelled { return true }
                            state.waiters[id] = (needle, continuation)
                            return false
                        }
                        if found { continuation.resume() }
                    }
                } onCancel: {
                    self.output.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ProcessTimeout(process: self.name, waitingFor: needle, output: self.text)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Kills the process with SIGKILL: no clean-up, no goodbye to the broker. Does not wait
    /// (`exited()` does): blocking a cooperative thread in `waitUntilExit` from a deinit hung
    /// the whole suite once both threads of a 2-core machine did it.
    func killHard() {
        kill(pid, SIGKILL)
    }

    /// Sends SIGTERM without waiting: the process begins its graceful shutdown.
    func requestStop() {
        kill(pid, SIGTERM)
    }

}

struct ProcessTimeout: Error, CustomStringConvertible {
    var process: String
    var waitingFor: String
    var output: String
    var description: String { "\(process) never printed \"\(waitingFor)\"; it printed:\n\(output.suffix(2000))" }
}
