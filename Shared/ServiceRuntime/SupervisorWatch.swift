import Foundation
public import ServiceLifecycle

/// Ends the process gracefully when the `contactpoint up` that started it is gone, so that a
/// supervisor killed with SIGKILL leaves no orphaned services behind.
///
/// `up` names itself in `CONTACTPOINT_SUPERVISOR_PID`; when this process's parent is no longer
/// that process, it was re-parented because the supervisor died.
public struct SupervisorWatch: Service {
    public let supervisor: pid_t

    /// A watch for the supervisor the environment names, or `nil` when not started by `up`.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment["CONTACTPOINT_SUPERVISOR_PID"], let pid = pid_t(text) else { return nil }
        supervisor = pid
    }

    public func run() async throws {
        while getppid() == supervisor {
            do {
                try await Task.sleep(for: .milliseconds(500))
            } catch {
                return
            }
            if Task.isShuttingDownGracefully { return }
        }
    }
}
