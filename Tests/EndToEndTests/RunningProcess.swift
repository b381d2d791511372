import Foundation
import Synchronization

/// A real executable started by a test, with its combined output captured so the test can wait
/// for a line to appear (an event) instead of sleeping. Killed when the test is done with it.
final class RunningProcess: @unchecked Sendable {
    let name: String
    private let process: Process
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
    init(
        _ executable: String, _ arguments: [String], name: String, environment: [String: String] = [:],
        input: String? = nil
    ) throws {
        self.name = name
        process = Process()
        process.executableURL =
            executable.hasPrefix("/")
            ? URL(fileURLWithPath: executable) : Self.binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { process.standardInput = inputPipe }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.terminationHandler = { [weak self] process in
            guard let self else { return }
            let status = process.terminationStatus
            let waiters = self.exit.withLock { exit in
                exit.status = status
                defer { exit.waiters = [] }
                return exit.waiters
            }
            for waiter in waiters { waiter.resume(returning: status) }
        }
        try process.run()
        // A thread of its own reads the output with blocking reads until EOF. (Foundation's
        // readabilityHandler uses a dispatch source that can outlive its file descriptor, which
        // crashed the test process now and then.) The thread holds the handle, so the descriptor
        // stays open until the last read.
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(reader.fileDescriptor, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                self?.append(Array(buffer.prefix(count)))
            }
            try? reader.close()
            self?.outputEnded.store(true, ordering: .releasing)
        }
        if let inputPipe, let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
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
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
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
        kill(process.processIdentifier, SIGKILL)
    }

    /// Sends SIGTERM without waiting: the process begins its graceful shutdown.
    func requestStop() {
        kill(process.processIdentifier, SIGTERM)
    }

}

struct ProcessTimeout: Error, CustomStringConvertible {
    var process: String
    var waitingFor: String
    var output: String
    var description: String { "\(process) never printed \"\(waitingFor)\"; it printed:\n\(output.suffix(2000))" }
}
