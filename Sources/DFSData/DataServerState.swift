import DFSCore

/// Everything about a data node that changes while it runs: where it is in its life, the
/// background tasks it owns in each part of it, and what it last heard from the meta server.
///
/// One actor, so a stop cannot miss a task started at the same moment: a repair copy or a
/// compaction asked for once the node has stopped is simply not started.
actor DataServerState {
    /// The tasks a node runs besides answering requests.
    struct Background {
        /// Registration, block reports and heartbeats (``MetaReporter``).
        var reporter: Task<Void, Never>?
        /// The scrubber (``BlockScrubber``), when its rate is above zero.
        var scrubber: Task<Void, Never>?
        /// Repair copies under way, by a key of their own.
        var copies: [UInt64: Task<Void, Never>] = [:]
        /// The pack compaction under way, if any (at most one at a time).
        var compaction: Task<Void, Never>?
    }

    enum Phase {
        /// Answering requests and reporting to the meta server.
        case serving(Background)
        /// Heartbeats have stopped and the meta server is being told; requests and the
        /// remaining background work go on until the stop.
        case leaving(Background)
        case stopped
    }

    private var phase: Phase = .serving(Background())
    /// True once the meta server has accepted this node's registration.
    private(set) var isRegistered = false
    /// Why the last attempt to reach the meta server failed; nil after a success.
    private(set) var lastMetaError: DFSError?
    /// Block bytes received so far, counted only when a planned death is set (tests).
    private(set) var receivedBytes = 0

    /// Starts the reporter and, if asked, the scrubber. Called once, by `DataServer.start`.
    func begin(reporter: @escaping @Sendable () async -> Void, scrubber: (@Sendable () async -> Void)?) {
        guard case .serving(var background) = phase, background.reporter == nil else { return }
        background.reporter = Task { await reporter() }
        background.scrubber = scrubber.map { run in Task { await run() } }
        phase = .serving(background)
    }

    // MARK: Meta server

    func metaReached() {
        isRegistered = true
        lastMetaError = nil
    }

    func metaFailed(_ error: DFSError?) {
        isRegistered = false
        if let error { lastMetaError = error }
    }

    // MARK: Repair copies and compaction

    var copiesInFlight: Int {
        switch phase {
        case .serving(let background), .leaving(let background): background.copies.count
        case .stopped: 0
        }
    }

    /// Runs `copy` in a task of its own, tracked until it ends; nothing once stopped.
    func startCopy(_ copy: @escaping @Sendable () async -> Void) {
        let key = UInt64.random(in: 0...UInt64.max)
        update { background in
            background.copies[key] = Task {
                await copy()
                // The task runs on this actor (it was made here): no hop back is needed.
                self.copyEnded(key)
            }
        }
    }

    private func copyEnded(_ key: UInt64) {
        update { background in _ = background.copies.removeValue(forKey: key) }
    }

    /// Starts `compactor` unless a compaction is under way (it takes the new work too) or
    /// there is nothing to compact.
    func startCompaction(_ compactor: PackCompactor) {
        guard compactor.hasWork else { return }
        update { background in
            guard background.compaction == nil else { return }
            background.compaction = Task {
                await compactor.run { failed in await self.compactionRoundEnded(compactor, failed: failed) }
            }
        }
    }

    /// Whether the compaction is over after a round that could not compact `failed`: it is
    /// when nothing else is left, and then the next deletions start another one. Decided
    /// here, in one step with clearing the task, so that a start in between is not lost.
    private func compactionRoundEnded(_ compactor: PackCompactor, failed: Set<String>) -> Bool {
        guard compactor.isFinished(skipping: failed) else { return false }
        update { background in background.compaction = nil }
        return true
    }

    // MARK: Planned death (tests)

    /// Adds `bytes` to the block bytes received and returns the total.
    func receive(_ bytes: Int) -> Int {
        receivedBytes += bytes
        return receivedBytes
    }

    // MARK: Stopping

    /// Enters `leaving` and hands back the reporter to stop, so that no heartbeat follows
    /// the goodbye.
    func beginLeaving() -> Task<Void, Never>? {
        guard case .serving(var background) = phase else { return nil }
        let reporter = background.reporter
        background.reporter = nil
        phase = .leaving(background)
        return reporter
    }

    /// Enters `stopped` and hands back every background task, for the caller to end.
    func beginStopping() -> Background? {
        switch phase {
        case .serving(let background), .leaving(let background):
            phase = .stopped
            return background
        case .stopped:
            return nil
        }
    }

    private func update(_ change: (inout Background) -> Void) {
        switch phase {
        case .serving(var background):
            change(&background)
            phase = .serving(background)
        case .leaving(var background):
            change(&background)
            phase = .leaving(background)
        case .stopped:
            break
        }
    }
}
