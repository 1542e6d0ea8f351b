import DFSCore

/// Changes to a node's blocks not yet told to the meta server: what heartbeats carry.
///
/// A plain value with no locks and no I/O: ``BlockStore`` keeps one behind its lock, and
/// tests drive it directly. Each list keeps the order changes were made in. A block's later
/// change cancels what an earlier one would have said: a deletion takes the block out of the
/// other lists, and of "corrupt" and "verified" the latest outcome wins.
public struct ChangeLog: Sendable, Equatable {
    /// Blocks stored since the last report.
    public var added: [BlockSummary] = []
    /// Blocks deleted, or asked about and not here.
    public var deleted: [BlockID] = []
    /// Blocks found corrupt; each listed once.
    public var corrupt: [BlockID] = []
    /// Blocks re-verified at the meta server's request, every piece intact.
    public var verified: [BlockSummary] = []

    public init(added: [BlockSummary] = [], deleted: [BlockID] = [], corrupt: [BlockID] = [], verified: [BlockSummary] = []) {
        self.added = added
        self.deleted = deleted
        self.corrupt = corrupt
        self.verified = verified
    }

    public var isEmpty: Bool { added.isEmpty && deleted.isEmpty && corrupt.isEmpty && verified.isEmpty }

    /// Removes and returns up to `limit` of each kind of change, the oldest first.
    public mutating func take(limit: Int) -> ChangeLog {
        let taken = ChangeLog(
            added: Array(added.prefix(limit)), deleted: Array(deleted.prefix(limit)),
            corrupt: Array(corrupt.prefix(limit)), verified: Array(verified.prefix(limit)))
        added.removeFirst(taken.added.count)
        deleted.removeFirst(taken.deleted.count)
        corrupt.removeFirst(taken.corrupt.count)
        verified.removeFirst(taken.verified.count)
        return taken
    }

    /// Puts back changes taken by ``take(limit:)`` that a heartbeat could not deliver, ahead
    /// of those made since, so the meta server still hears them in order.
    public mutating func restore(_ taken: ChangeLog) {
        added = taken.added + added
        deleted = taken.deleted + deleted
        corrupt = taken.corrupt + corrupt
        verified = taken.verified + verified
    }

    /// Forgets additions and deletions, which a full block report makes moot.
    public mutating func clearAddedAndDeleted() {
        added = []
        deleted = []
    }

    /// A block stored.
    mutating func recordAdded(_ summary: BlockSummary) {
        added.append(summary)
    }

    /// A block deleted: whatever else was pending for it no longer matters.
    mutating func recordDeleted(_ blockID: BlockID) {
        added.removeAll { $0.blockID == blockID }
        corrupt.removeAll { $0 == blockID }
        verified.removeAll { $0.blockID == blockID }
        deleted.append(blockID)
    }

    /// A block found corrupt; listed once however often it is found. True when it was not
    /// listed yet.
    @discardableResult
    mutating func recordCorrupt(_ blockID: BlockID) -> Bool {
        verified.removeAll { $0.blockID == blockID }
        guard !corrupt.contains(blockID) else { return false }
        corrupt.append(blockID)
        return true
    }

    /// A block re-verified intact; this outcome replaces any earlier one for the block.
    mutating func recordVerified(_ summary: BlockSummary) {
        corrupt.removeAll { $0 == summary.blockID }
        verified.removeAll { $0.blockID == summary.blockID }
        verified.append(summary)
    }

    /// A block the meta server asked about that is not here; listed once.
    mutating func recordGone(_ blockID: BlockID) {
        if !deleted.contains(blockID) { deleted.append(blockID) }
    }
}
