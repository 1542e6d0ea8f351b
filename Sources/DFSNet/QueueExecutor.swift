import Dispatch

/// A serial executor that runs an actor's jobs on a Dispatch queue.
///
/// An actor that owns a socket uses the queue its Dispatch sources fire on, so a source's
/// handler can enter the actor with `assumeIsolated` instead of hopping through a task. An
/// actor that makes blocking calls (SQLite, fsync) uses one so the blocking stays off the
/// cooperative thread pool, which has only as many threads as cores.
public final class QueueExecutor: SerialExecutor, @unchecked Sendable {
    public let queue: DispatchQueue

    public init(label: String, qos: DispatchQoS = .default) {
        queue = DispatchQueue(label: label, qos: qos)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Without this, `assumeIsolated` traps on Linux: the runtime cannot otherwise tell that
    /// the current thread is running this queue.
    public func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}
