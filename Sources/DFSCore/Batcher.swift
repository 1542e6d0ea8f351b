import Dispatch

/// Work that many tasks ask for and one pass serves for all of them: a group commit.
///
/// Each request joins the batch that forms while the previous pass runs; one Dispatch thread
/// runs the passes one after another, so an fsync costs once per batch, not once per
/// request. A caller waits until the pass that took its request is over.
///
/// The queue holds one entry per waiting caller, and callers are bounded by the server's
/// connection and request limits; a pass takes at most `batchMax` of them.
public final class Batcher<Request: Sendable, Reply: Sendable>: @unchecked Sendable {
    public typealias Process = @Sendable ([Request]) -> [Result<Reply, DFSError>]

    private struct Waiter {
        let request: Request
        let continuation: CheckedContinuation<Reply, any Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var running = false
    }

    private let state = Mutex(State())
    private let queue: DispatchQueue
    private let process: Process
    public let batchMax: Int

    /// `process` gets a batch and returns one result per request, in order.
    public init(label: String, batchMax: Int = 256, process: @escaping Process) {
        queue = DispatchQueue(label: label)
        self.batchMax = batchMax
        self.process = process
    }

    /// Adds `request` to the next batch and waits for its result.
    public func submit(_ request: Request) async throws -> Reply {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reply, any Error>) in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiter(request: request, continuation: continuation))
                if state.running { return false }
                state.running = true
                return true
            }
            if start { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                if state.waiting.isEmpty {
                    state.running = false
                    return []
                }
                let count = min(batchMax, state.waiting.count)
                let taken = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                return taken
            }
            if batch.isEmpty { return }
            let results = process(batch.map(\.request))
            for (index, waiter) in batch.enumerated() {
                if index < results.count {
                    waiter.continuation.resume(with: results[index].mapError { $0 as any Error })
                } else {
                    waiter.continuation.resume(throwing: DFSError(.internalError, "a batch returned \(results.count) results for \(batch.count) requests"))
                }
            }
        }
    }
}
