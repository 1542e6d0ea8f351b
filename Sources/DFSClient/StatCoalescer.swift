import DFSCore

/// Concurrent `stat` calls on one client share requests to the meta server.
///
/// A caller alone sends its own `getFile` at once, so one caller after another pays one
/// round trip each, as before. While `maxInFlight` requests are already under way, further
/// callers wait in a queue instead of opening more connections, and the next free sender
/// takes everyone waiting (up to ``Limits/pathsPerGetFilesMax``) as one `getFiles`: under
/// load the meta server answers many paths per frame, the client parses one reply for many
/// callers, and the round trips stop being the limit.
///
/// Each waiting caller's answer is what `getFile` would have said: a path that names
/// nothing fails only its own caller; a failure to reach the meta server fails every caller
/// in that request (each request is retried as ``RetryPolicy`` says before that).
final class StatCoalescer: Sendable {
    typealias SendOne = @Sendable (DFSPath) async throws -> GetFileOK
    typealias SendMany = @Sendable ([DFSPath]) async throws -> [Result<GetFileOK, DFSError>]

    private struct Waiter {
        let path: DFSPath
        let continuation: CheckedContinuation<GetFileOK, any Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var inFlight = 0
    }

    /// Requests under way at once; the pool keeps one connection for each.
    let maxInFlight: Int
    /// Paths in one request at most.
    let batchMax: Int
    private let state = Mutex(State())
    private let sendOne: SendOne
    private let sendMany: SendMany

    init(maxInFlight: Int = 2, batchMax: Int = Limits.pathsPerGetFilesMax, sendOne: @escaping SendOne, sendMany: @escaping SendMany) {
        precondition(maxInFlight >= 1 && batchMax >= 1)
        self.maxInFlight = maxInFlight
        self.batchMax = batchMax
        self.sendOne = sendOne
        self.sendMany = sendMany
    }

    /// Requests sent so far with more than one path in them (for tests).
    var sharedRequests: Int { counters.withLock { $0 } }
    private let counters = Mutex(0)

    /// Callers waiting for a sender (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func stat(_ path: DFSPath) async throws -> GetFileOK {
        let alone = state.withLock { state -> Bool in
            guard state.waiting.isEmpty, state.inFlight < maxInFlight else { return false }
            state.inFlight += 1
            return true
        }
        if alone {
            let result: Result<GetFileOK, any Error>
            do { result = .success(try await sendOne(path)) } catch { result = .failure(error) }
            handOver()
            return try result.get()
        }
        return try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiter(path: path, continuation: continuation))
                guard state.inFlight < maxInFlight else { return false }
                state.inFlight += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Called by a sender that is done with its request: serves whoever queued up meanwhile
    /// in a task of its own, so the sender's caller gets its answer now.
    private func handOver() {
        let more = state.withLock { state -> Bool in
            if state.waiting.isEmpty {
                state.inFlight -= 1
                return false
            }
            return true
        }
        if more { Task { await self.drain() } }
    }

    /// Sends what is waiting, a batch at a time, until nothing is; holds one in-flight slot.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                if state.waiting.isEmpty {
                    state.inFlight -= 1
                    return []
                }
                let count = min(batchMax, state.waiting.count)
                let taken = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                return taken
            }
            if batch.isEmpty { return }
            await serve(batch)
        }
    }

    private func serve(_ batch: [Waiter]) async {
        if batch.count == 1 {
            do {
                batch[0].continuation.resume(returning: try await sendOne(batch[0].path))
            } catch {
                batch[0].continuation.resume(throwing: error)
            }
            return
        }
        counters.withLock { $0 += 1 }
        do {
            let results = try await sendMany(batch.map(\.path))
            for (index, waiter) in batch.enumerated() {
                if index < results.count {
                    waiter.continuation.resume(with: results[index].mapError { $0 as any Error })
                } else {
                    waiter.continuation.resume(
                        throwing: DFSError(.protocolError, "the meta server answered \(results.count) of \(batch.count) paths"))
                }
            }
        } catch {
            for waiter in batch { waiter.continuation.resume(throwing: error) }
        }
    }
}
