import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

extension WriteHandle {
    /// Writes answered and not yet staged, applied in the order they came.
    ///
    /// A FUSE write is answered as soon as its bytes are copied out of libfuse and queued
    /// here, so the program's next write (which the kernel sends only once this one is
    /// answered) overlaps the staging of this one: a sequential writer is no longer paced
    /// by a task, an actor hop, a hand-off to the blocking-I/O threads and a pwrite per
    /// request. What a program can see does not change: room in the staging cache is
    /// reserved before the answer (a write past `--cache-size` is ENOSPC at once, as
    /// before), and everything that looks at the staged file (reads, attributes, truncates,
    /// flushes, fsyncs, the release) first waits for the queue to drain
    /// (``writesApplied()``). A write that fails once answered (the staged file's disk
    /// failing) fails every later write, flush and fsync of the file, which is then never
    /// uploaded: as a local disk reports a failed write-back at fsync and close. Memory is
    /// bounded by FuseContext's room for write data, which a queued write holds until it is
    /// staged.
    struct WriteQueue: Sendable {
        struct Write: Sendable {
            let bytes: WriteData
            let offset: Int
            /// Gives back the write's room, once staged.
            let done: @Sendable () -> Void
        }
        /// Oldest first.
        var writes: [Write] = []
        /// The staged size once every queued write is applied, which is what the staging
        /// cache holds reserved.
        var projectedSize: Int
        /// True while a task applies the queue.
        var draining = false
        /// The failure of a write already answered.
        var failure: MountError?
        /// Callers of ``writesApplied()``, resumed when the queue is empty.
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Queues `bytes` for `offset`, after reserving the room they add to the staging cache;
    /// throws at once what the program must see on this write (no room; an earlier write
    /// failed).
    nonisolated func enqueue(_ bytes: WriteData, at offset: Int, done: @escaping @Sendable () -> Void) throws {
        let startDraining = try queue.withLock { queue -> Bool in
            if let failure = queue.failure { throw failure }
            let growth = max(0, offset + bytes.count - queue.projectedSize)
            try staging.reserve(growth)
            queue.projectedSize += growth
            queue.writes.append(WriteQueue.Write(bytes: bytes, offset: offset, done: done))
            guard !queue.draining else { return false }
            queue.draining = true
            return true
        }
        if startDraining { Task { await self.applyQueuedWrites() } }
    }

    /// Stages the queued writes in order until none is left, then wakes the callers of
    /// ``writesApplied()``. One such task at a time: `draining` goes back to false under
    /// the same lock that finds the queue empty, so a write queued after that starts the next.
    private func applyQueuedWrites() async {
        while true {
            let next = queue.withLock { queue -> (write: WriteQueue.Write?, failed: Bool, waiters: [CheckedContinuation<Void, Never>]) in
                guard queue.writes.isEmpty else { return (queue.writes.removeFirst(), queue.failure != nil, []) }
                queue.draining = false
                defer { queue.waiters = [] }
                return (nil, false, queue.waiters)
            }
            guard let write = next.write else {
                for waiter in next.waiters { waiter.resume() }
                return
            }
            if !next.failed {
                do {
                    try await stage(write.bytes, at: write.offset)
                } catch {
                    let errno = MountErrno.of(error)
                    Log.warn("mount", "a write to the staged file of inode \(inode) failed: \(DFSError.wrap(error).message)")
                    queue.withLock { $0.failure = MountError(errno == ENOSPC ? ENOSPC : EIO, "an earlier write failed: \(error)") }
                }
            }
            write.done()
        }
    }

    /// Returns once every write answered so far is staged (or failed).
    func writesApplied() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = queue.withLock { queue -> Bool in
                guard queue.draining else { return true }
                queue.waiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    /// The failure of a write already answered, which fails the flush or fsync.
    func checkQueuedWrites() throws {
        if let failure = queue.withLock({ $0.failure }) { throw failure }
    }
}
