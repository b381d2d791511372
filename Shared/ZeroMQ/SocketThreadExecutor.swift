import Synchronization

/// Lets Swift tasks run on a ``SocketThread``, between its socket work, so a task that talks to
/// the thread's sockets needs no thread hand-off. The thread adds ``fileDescriptor`` to what it
/// waits on and calls ``runJobs()`` when it fires.
///
/// Tasks given this executor as their preference run here; after the thread has stopped
/// (``close()``), jobs go to the global concurrent executor instead, so no task is stranded.
public final class SocketThreadExecutor: TaskExecutor {
    private let jobs: Mailbox<UnownedJob>

    public init() throws(ZeroMQError) {
        jobs = try Mailbox()
    }

    public var fileDescriptor: Int32 { jobs.fileDescriptor }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !jobs.send(unowned) {
            globalConcurrentExecutor.enqueue(unowned)
        }
    }

    /// Runs the jobs queued so far. Called only on the owning thread.
    public func runJobs() {
        for job in jobs.drain() {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Sends later jobs to the global executor and runs any still queued there too.
    public func close() {
        for job in jobs.close() {
            globalConcurrentExecutor.enqueue(job)
        }
    }
}
