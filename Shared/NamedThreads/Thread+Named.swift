public import Foundation

extension Thread {
    /// Starts an OS thread running `body`, named `name` in the kernel (`top -H`, `perf`; the
    /// first 15 characters). Foundation on Linux drops a name set before `start`, and one set
    /// after only if the starting thread has got back its handle, so the thread names itself.
    public static func start(named name: String, _ body: @escaping @Sendable () -> Void) {
        Thread {
            try? Data(name.utf8.prefix(15)).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
            body()
        }.start()
    }
}
