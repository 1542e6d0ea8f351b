import DFSCore
import Dispatch

/// Runs blocking work (file reads and writes, name lookups) on threads of its own and awaits
/// the result, so that it never occupies one of the cooperative pool's few threads, with at
/// most ``Limits/blockingIOThreads`` jobs at once.
public enum BlockingIO {
    /// The pool every call shares.
    public static let pool = BlockingPool(label: "dfs.blocking-io", width: Limits.blockingIOThreads)

    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.run(work)
    }
}

/// A pool of at most `width` threads for blocking jobs. A job submitted while `width` run
/// waits in a queue, in order, holding no thread; each job that ends starts the next.
public final class BlockingPool: Sendable {
    public let width: Int
    private let queue: DispatchQueue
    private let state = Mutex(State())

    private struct State {
        var running = 0
        /// Jobs waiting for a thread, oldest first; `next` is the first not yet started.
        var waiting: [@Sendable () -> Void] = []
        var next = 0

        mutating func takeNext() -> (@Sendable () -> Void)? {
            guard next < waiting.count else {
                waiting.removeAll(keepingCapacity: true)
                next = 0
                return nil
            }
            defer {
                next += 1
                // Drop started jobs now and then, so the array does not grow for ever.
                if next >= 64 && next * 2 >= waiting.count {
                    waiting.removeFirst(next)
                    next = 0
                }
            }
            return waiting[next]
        }
    }

    public init(label: String, width: Int) {
        precondition(width >= 1, "a pool needs at least one thread")
        self.width = width
        queue = DispatchQueue(label: label, qos: .default, attributes: .concurrent)
    }

    /// Jobs running now and jobs waiting for a thread (for tests and status).
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count - $0.next) }
    }

    /// Runs `job` on a thread of the pool when one is free: now, or after the jobs
    /// submitted before it.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        let startNow = state.withLock { state -> Bool in
            guard state.running < width else {
                state.waiting.append(job)
                return false
            }
            state.running += 1
            return true
        }
        if startNow { queue.async { self.drain(first: job) } }
    }

    /// Runs `work` on the pool and awaits its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs `first`, then waiting jobs on the same thread until none is left.
    private func drain(first: @escaping @Sendable () -> Void) {
        var job: (@Sendable () -> Void)? = first
        while let current = job {
            current()
            job = state.withLock { state in
                if let next = state.takeNext() { return next }
                state.running -= 1
                return nil
            }
        }
    }
}
