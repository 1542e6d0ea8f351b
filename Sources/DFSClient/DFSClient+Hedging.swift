import DFSCore
import DFSNet

extension DFSClient {
    /// Reads one block from its replicas, hedged: replicas this client avoids go last; when
    /// the read under way has delivered no verified bytes within the hedging delay (see
    /// ``HedgeDelay``), a read of the next replica starts beside it, and so on. The first
    /// read to deliver a verified frame wins and alone hands bytes to `consume`: the choice
    /// is made atomically at that frame, so two replicas never write into the same target.
    /// A read that fails (before or after winning) is told to `failed` and the next replica
    /// starts at once; a winner that fails midway hands over to another, whose bytes start
    /// again from the range's start, as ``readBlock(_:of:range:buffers:_:)`` documents.
    ///
    /// Returns true when a read delivered the whole block, false when every replica failed.
    /// A failure of `consume` itself is thrown at once.
    ///
    /// The reads that lose are not waited for: one that still has no bytes is left to run
    /// until its stall time, so a hung node is found out (it is then avoided and reported,
    /// see ``nodeTimedOut(_:_:)``) rather than merely passed over once for each block; it can
    /// no longer consume, and its connection is closed when it ends, never pooled (the pool
    /// closes every connection whose work failed).
    func readHedged(
        _ block: BlockLocation, range: Range<Int>, buffers: PayloadBuffers,
        _ consume: @escaping @Sendable (Int, [UInt8]) async throws -> Void,
        failed: (NodeAddress, DFSError) async -> Void
    ) async throws -> Bool {
        let replicas = avoidance.ordered(block.replicas)
        guard !replicas.isEmpty else { return false }
        let race = HedgeRace()
        let (events, sink) = AsyncStream.makeStream(of: HedgeEvent.self)
        let delay = avoidance.hedgeDelay
        // Replicas not tried yet (or whose read lost a race and may be tried again), in order.
        var waiting = Array(replicas.indices)
        var running: [Int: (replica: Int, task: Task<Void, Never>)] = [:]
        var attemptCount = 0
        var winner: Int?
        var timer: Task<Void, Never>?
        var timerGeneration = 0
        defer {
            timer?.cancel()
            sink.finish()
            // Whatever the outcome, no read may consume once this returns: the consumer may
            // be gone (a download that failed has closed its file).
            race.close()
        }

        func startNext() {
            guard !waiting.isEmpty else { return }
            let replicaIndex = waiting.removeFirst()
            let attempt = attemptCount
            attemptCount += 1
            let task = Task {
                await self.readAttempt(attempt, block, range: range, from: replicas[replicaIndex], buffers: buffers, race: race, sink: sink, consume)
            }
            running[attempt] = (replicaIndex, task)
            // The next hedge is due after another delay, while nobody has won.
            timer?.cancel()
            timerGeneration += 1
            if !waiting.isEmpty {
                let generation = timerGeneration
                timer = Task {
                    do { try await Task.sleep(for: delay) } catch { return }
                    sink.yield(.hedgeDue(generation))
                }
            }
        }

        startNext()
        for await event in events {
            switch event {
            case .firstBytes(let attempt, let elapsed):
                winner = attempt
                timer?.cancel()
                avoidance.recordFirstByte(after: elapsed)
            case .finished(let attempt):
                if attempt == winner { return true }
                running[attempt] = nil
            case .lost(let attempt):
                // Another read won first. This replica may still be needed if the winner
                // fails midway.
                if let ended = running.removeValue(forKey: attempt) { waiting.append(ended.replica) }
            case .failed(let attempt, let error):
                guard let ended = running.removeValue(forKey: attempt) else { break }
                await failed(replicas[ended.replica], error)
                if attempt == winner {
                    winner = nil
                    race.reset()
                }
                if winner == nil { startNext() }
            case .consumerFailed(let error):
                for (_, attempt) in running { attempt.task.cancel() }
                throw error
            case .hedgeDue(let generation):
                if generation == timerGeneration && winner == nil { startNext() }
            }
            if winner == nil && running.isEmpty && waiting.isEmpty { return false }
        }
        // The stream ended early: this task was cancelled.
        for (_, attempt) in running { attempt.task.cancel() }
        throw CancellationError()
    }

    /// One read of a block from one replica, reporting to the driver through `sink`.
    private func readAttempt(
        _ attempt: Int, _ block: BlockLocation, range: Range<Int>, from replica: NodeAddress, buffers: PayloadBuffers, race: HedgeRace,
        sink: AsyncStream<HedgeEvent>.Continuation, _ consume: @escaping @Sendable (Int, [UInt8]) async throws -> Void
    ) async {
        let started = ContinuousClock.now
        let claimed = Mutex(false)
        // Claims the win at the first verified bytes (or at the end of an empty block).
        let claim: @Sendable () throws -> Void = {
            guard !claimed.withLock({ $0 }) else { return }
            guard race.claim(attempt) else { throw HedgeLost() }
            claimed.withLock { $0 = true }
            sink.yield(.firstBytes(attempt, ContinuousClock.now - started))
        }
        do {
            try await pool.withConnection(to: replica.address, handshake: timeouts.stall) { connection in
                try await self.receiveBlock(block, range: range, from: connection, buffers: buffers) { offset, bytes in
                    try claim()
                    try await consume(offset, bytes)
                }
            }
            try claim()
            sink.yield(.finished(attempt))
        } catch let failure as ConsumerFailure where failure.underlying is HedgeLost {
            sink.yield(.lost(attempt))
        } catch is HedgeLost {
            sink.yield(.lost(attempt))
        } catch let failure as ConsumerFailure {
            sink.yield(.consumerFailed(failure.underlying))
        } catch {
            let error = DFSError.wrap(error)
            // A read cancelled by this client says nothing about the node.
            if error.code == .timeout && !Task.isCancelled {
                await nodeTimedOut(replica.nodeID, "read of block \(block.blockID) from \(replica.address): \(error.message)")
            }
            sink.yield(.failed(attempt, error))
        }
    }

    /// `node` did not answer in time: every later transfer of this client avoids it, and the
    /// meta server is told once, so that it stops placing blocks there and lists the node's
    /// replicas last for everyone until the node answers again.
    func nodeTimedOut(_ node: NodeID, _ reason: String) async {
        guard avoidance.avoid(node) else { return }
        _ = try? await metaRequest(
            ReportSlowNode(nodeID: node, reason: String(reason.prefix(ReportSlowNode.reasonBytesMax))), expecting: OK.self)
    }

    /// Notes a pipeline failure: the nodes of a ``PipelineOutcome``'s `stalled` (the first
    /// node, when it timed out and `error` says so, or the nodes a pipeline node named as
    /// stopped answering) are avoided and reported. A node that refused or dropped the
    /// connection (a node that is down, or was restarted) is not stalled: it is only left out
    /// of that block's next try, since the meta server's liveness notices a dead node on its
    /// own, and one that came back must not be shunned.
    func notePipelineFailure(_ stalled: [NodeID], blockID: BlockID, _ error: DFSError?) async {
        for node in stalled {
            await nodeTimedOut(node, "write of block \(blockID): \(error?.message ?? "named failed by the pipeline")")
        }
    }

    /// Runs `body`, one block's write through `targets`, and abandons it as soon as this
    /// client comes to avoid one of them: another block found that node hung, so this one,
    /// stuck behind it too, is written again elsewhere at once instead of waiting out its own
    /// stall time (a block allocated just before the first stall was detected would
    /// otherwise add a second stall to the upload). Nodes avoided already when the block
    /// started (placed there because nothing else was left) do not count.
    func abandoningIfAvoided<T: Sendable>(_ targets: [NodeID], _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let avoidedBefore = avoidance.nodes
        let avoidance = self.avoidance
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                // A look every 100 ms costs a lock and a set lookup per target; a hung node
                // costs seconds.
                while true {
                    try await Task.sleep(for: .milliseconds(100))
                    let avoided = avoidance.nodes.subtracting(avoidedBefore)
                    let hung = targets.filter { avoided.contains($0) }
                    if !hung.isEmpty { throw BlockAbandoned(nodes: hung) }
                }
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() ?? nil else {
                throw CancellationError()
            }
            return result
        }
    }

    /// `allocateBlock` without the nodes this client avoids, besides `excluded`; when that
    /// leaves no node, without only `excluded`: an avoided node is better than none.
    func allocateBlock(fileID: Int64, blockIndex: Int, excluding excluded: [NodeID]) async throws -> AllocateBlockOK {
        let avoided = avoidance.nodes.subtracting(excluded)
        if !avoided.isEmpty {
            do {
                return try await metaRequest(
                    AllocateBlock(fileID: fileID, blockIndex: blockIndex, excludeNodes: excluded + avoided.sorted()),
                    expecting: AllocateBlockOK.self)
            } catch let error as DFSError where error.code == .unavailable {
                // Fall through: try again with the avoided nodes allowed.
            }
        }
        return try await metaRequest(
            AllocateBlock(fileID: fileID, blockIndex: blockIndex, excludeNodes: excluded), expecting: AllocateBlockOK.self)
    }
}

/// What the reads of a hedged block read tell its driver.
enum HedgeEvent: Sendable {
    /// The read delivered its first verified bytes and won; how long that took from its start.
    case firstBytes(Int, Duration)
    /// The winner delivered the whole block.
    case finished(Int)
    /// The read reached its first bytes after another had won, and stopped.
    case lost(Int)
    case failed(Int, DFSError)
    /// Whoever takes the bytes failed: no other replica would help.
    case consumerFailed(any Error)
    /// The hedging delay of the read started in this generation has passed.
    case hedgeDue(Int)
}

/// Which read of a block won: decided once, atomically, by the first to deliver verified
/// bytes; cleared when the winner fails midway, so another may win.
final class HedgeRace: Sendable {
    private let winner = Mutex<Int?>(nil)

    /// True when `attempt` is (now) the winner.
    func claim(_ attempt: Int) -> Bool {
        winner.withLock { winner in
            if winner == nil { winner = attempt }
            return winner == attempt
        }
    }

    func reset() {
        winner.withLock { $0 = nil }
    }

    /// Nobody may win from now on: the block read is over.
    func close() {
        winner.withLock { $0 = Self.closed }
    }

    private static let closed = -1
}

/// A block write given up because one of its nodes was found hung by another block.
struct BlockAbandoned: Error {
    var nodes: [NodeID]
    var error: DFSError {
        DFSError(.timeout, "nodes \(nodes.map(\.description).joined(separator: ", ")) were found hung while the block was written")
    }
}

/// A read that found another already won: it stops without consuming anything.
struct HedgeLost: Error {}
