/// The attempts of a client to write one block through pipelines of data nodes: how many
/// may start, which nodes the next one leaves out, the best block stored so far and the
/// error to report when none stored it. Pure: the client performs the allocations and
/// transfers, this value decides (`PipelineAttemptsTests`).
///
/// When a node cannot be reached or fails mid-block, the block is written again, under a new
/// id, to nodes the meta server picks without the failed ones. After
/// ``Limits/blockWriteAttempts`` attempts the best one is kept: a block on fewer nodes than
/// asked is under-replicated, not lost.
public struct PipelineAttempts: Sendable {
    /// Attempts started so far.
    public private(set) var startedCount = 0
    /// Nodes every later attempt asks the meta server to leave out, in the order they failed.
    public private(set) var excluded: [NodeID] = []
    /// The block of the attempt that stored it on the most nodes, short of all of them; the
    /// earliest of equals.
    public private(set) var best: CommittedBlock?
    /// Why the latest attempt that stored nothing failed.
    public private(set) var lastError: DFSError?

    public init() {}

    /// Starts another attempt: false once ``Limits/blockWriteAttempts`` have started.
    public mutating func startAttempt() -> Bool {
        guard startedCount < Limits.blockWriteAttempts else { return false }
        startedCount += 1
        return true
    }

    /// Records an attempt through `targets` whose first node acknowledged `block` with
    /// `outcome`; `block` names the nodes that stored it, `outcome.stored(inOrderOf: targets)`.
    /// True when every target stored it: the block is done. Otherwise the block is kept if it
    /// is on more nodes than the best so far, and the nodes that failed are left out next time.
    public mutating func recordAcknowledged(_ block: CommittedBlock, targets: [NodeID], outcome: PipelineOutcome) -> Bool {
        precondition(block.nodes == outcome.stored(inOrderOf: targets), "a block names the targets that stored it")
        if outcome.isComplete(for: targets) { return true }
        if block.nodes.count > (best?.nodes.count ?? 0) { best = block }
        excluded += outcome.excludedNextTime(from: targets)
        return false
    }

    /// Records an attempt through `targets` that got no acknowledgement, with `error`: the
    /// first node failed (``PipelineOutcome/lost(_:_:)``), or the attempt was given up because
    /// some of its nodes were found hung meanwhile (those nodes, failed).
    public mutating func recordFailed(targets: [NodeID], outcome: PipelineOutcome, error: DFSError) {
        excluded += outcome.excludedNextTime(from: targets)
        lastError = error
    }

    /// What the block write came to when no attempt is left, or no node for one: the best
    /// block kept, else the latest failure.
    public func result(blockIndex: Int) throws(DFSError) -> CommittedBlock {
        if let best { return best }
        throw lastError ?? DFSError(.unavailable, "could not store block \(blockIndex)")
    }
}
