import DFSCore
import Foundation

/// One timed phase of concurrent work: its wall time and each item's latency.
struct BenchPhase {
    var items: Int
    var seconds: Double
    /// Latencies of the items, in seconds.
    var latency: Percentiles
    var itemsPerSecond: Double { Double(items) / max(seconds, 1e-9) }
}

/// Runs `items` pieces of work with `workers` workers at once, each taking the next item as
/// soon as it is done with one (closed-loop clients, as `weed benchmark` runs them), and
/// times each piece and the whole.
enum BenchWorkers {
    /// Workers as tasks: for work that awaits (the client library).
    static func tasks(
        workers: Int, items: Int, _ work: @escaping @Sendable (_ worker: Int, _ item: Int) async throws -> Void
    ) async throws -> BenchPhase {
        let queue = ItemQueue(items)
        let latencies = Mutex<[Double]>([])
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var samples: [Double] = []
                    while let item = queue.take() {
                        try Task.checkCancellation()
                        let start = ContinuousClock.now
                        try await work(worker, item)
                        samples.append((ContinuousClock.now - start).inSeconds)
                    }
                    latencies.withLock { $0 += samples }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        return BenchPhase(items: items, seconds: seconds, latency: Percentiles(latencies.withLock { $0 }))
    }

    /// Workers as threads of their own: for the local baselines' blocking system calls, which
    /// on Swift's cooperative pool (one thread per core) would run two at a time on this
    /// machine, however many workers were asked for.
    static func threads(workers: Int, items: Int, _ work: @escaping @Sendable (_ item: Int) throws -> Void) async throws -> BenchPhase {
        let queue = ItemQueue(items)
        let latencies = Mutex<[Double]>([])
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    try await onOwnThread {
                        var samples: [Double] = []
                        while let item = queue.take() {
                            let start = ContinuousClock.now
                            try work(item)
                            samples.append((ContinuousClock.now - start).inSeconds)
                        }
                        latencies.withLock { $0 += samples }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        return BenchPhase(items: items, seconds: seconds, latency: Percentiles(latencies.withLock { $0 }))
    }

    /// Runs blocking `work` on a new thread and awaits its end.
    private static func onOwnThread(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

/// The items 0..<count, each handed out once, in order.
private final class ItemQueue: Sendable {
    private let count: Int
    private let next = Mutex(0)

    init(_ count: Int) { self.count = count }

    func take() -> Int? {
        next.withLock { next in
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }
}
