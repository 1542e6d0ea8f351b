import DFSCore

extension Connection {
    /// Reads the acknowledgement of a block write, skipping the `writeBlockProgress` frames
    /// the node sends while it flushes and waits for the nodes after it. Each frame must come
    /// within `stall`: a node that sends neither is hung. The whole wait ends at `deadline`
    /// however many progress frames come, so a node whose disk never finishes a flush is
    /// given up too.
    public func readWriteBlockReply(
        _ blockID: BlockID, stall: Duration, deadline: ContinuousClock.Instant
    ) async throws -> WriteBlockOK {
        try await readReply(WriteBlockOK.self, progressFor: blockID, stall: stall, deadline: deadline)
    }

    /// Reads the reply to a write (`writeBlock`, or `writeBlocks` whose progress frames name
    /// its first block), skipping the progress frames that say the node is still at it; each
    /// frame must come within `stall`, and the reply by `deadline`.
    public func readReply<M: Message>(
        _: M.Type, progressFor blockID: BlockID, stall: Duration, deadline: ContinuousClock.Instant
    ) async throws -> M {
        while true {
            let frameDeadline = min(deadline, .now + stall)
            guard let frame = try await readFrame(before: frameDeadline) else {
                throw DFSError(.connectionFailed, "\(name) closed the connection before acknowledging block \(blockID)")
            }
            if frame.type == MessageType.writeBlockProgress.rawValue {
                let progress = try frame.decode(WriteBlockProgress.self)
                guard progress.blockID == blockID else {
                    throw DFSError(.protocolError, "\(name) sent progress for block \(progress.blockID) during the write of \(blockID)")
                }
                guard ContinuousClock.now < deadline else {
                    throw DFSError(.timeout, "\(name) did not acknowledge block \(blockID) in time")
                }
                continue
            }
            return try frame.reply(M.self)
        }
    }

    /// Runs `body` while sending `writeBlockProgress` for `blockID` every `interval`, for at
    /// most `limit` (after that the upstream hears nothing and gives the node up: a flush
    /// that never ends is a hung disk). Progress frames are written whole: a frame cut off
    /// would put the stream out of step, so stopping waits for one under way to finish.
    public nonisolated func sendingProgress<T: Sendable>(
        for blockID: BlockID, every interval: Duration, limit: Duration, timeout: Duration,
        _ body: () async throws -> T
    ) async throws -> T {
        let connection = self
        let started = ContinuousClock.now
        let ticker = Task {
            while ContinuousClock.now - started + interval <= limit {
                do { try await Task.sleep(for: interval) } catch { return }
                // A task of its own, which the ticker's cancellation does not reach.
                let sent = await Task {
                    (try? await connection.send(WriteBlockProgress(blockID: blockID), timeout: timeout)) != nil
                }.value
                if !sent { return }
            }
        }
        let result: T
        do {
            result = try await body()
        } catch {
            ticker.cancel()
            await ticker.value
            throw error
        }
        ticker.cancel()
        await ticker.value
        return result
    }
}
