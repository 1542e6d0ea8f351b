import DFSCore

/// One replica of a block, as the repair loop and fsck see it.
public struct ReplicaHealth: Sendable, Hashable {
    public var nodeID: NodeID
    /// Its node's heartbeats are recent (or it is away on a planned stop, within its grace).
    public var live: Bool
    /// Its own node confirmed it bad: a re-verification, the scrubber, a failed read on the
    /// node, or a block report whose length or checksum disagree with the record.
    public var corrupt: Bool
    /// A client reported it and its node has not re-verified it yet. It still counts as good.
    public var suspect: Bool
    /// Already in `garbage`, for its node to delete.
    public var queuedForDeletion: Bool

    public init(nodeID: NodeID, live: Bool, corrupt: Bool = false, suspect: Bool = false, queuedForDeletion: Bool = false) {
        self.nodeID = nodeID
        self.live = live
        self.corrupt = corrupt
        self.suspect = suspect
        self.queuedForDeletion = queuedForDeletion
    }
}

/// A block whose good replicas on live nodes are not what its file asks for, or that has a
/// corrupt or suspect replica: the repair loop's and fsck's view of one block. Pure: the
/// rules below have unit tests that need no store.
public struct BlockHealth: Sendable, Hashable {
    public var blockID: BlockID
    public var fileID: Int64
    public var blockIndex: Int
    public var replication: Int
    /// Every replica row of the block, good or not, on live nodes or not.
    public var replicas: [ReplicaHealth]

    public init(blockID: BlockID, fileID: Int64, blockIndex: Int, replication: Int, replicas: [ReplicaHealth] = []) {
        self.blockID = blockID
        self.fileID = fileID
        self.blockIndex = blockIndex
        self.replication = replication
        self.replicas = replicas
    }

    /// Nodes with a replica not confirmed bad, whose heartbeats are recent. Suspect replicas
    /// count: a client's report is a hint, and a hint must not set off copies or deletions.
    public var goodLive: [NodeID] { replicas.filter { $0.live && !$0.corrupt }.map(\.nodeID) }
    /// Good live replicas that no one doubts: the sources repair prefers, and the ones that
    /// decide when a corrupt replica may go.
    public var trustedLive: [NodeID] { replicas.filter { $0.live && !$0.corrupt && !$0.suspect }.map(\.nodeID) }
    /// Every node with a replica row, good or corrupt, alive or not.
    public var holders: [NodeID] { replicas.map(\.nodeID) }
    public var corrupt: [NodeID] { replicas.filter(\.corrupt).map(\.nodeID) }
    public var suspect: [NodeID] { replicas.filter { $0.suspect && !$0.corrupt }.map(\.nodeID) }
    public var corruptCount: Int { corrupt.count }

    /// What is wrong with the block, if anything. A block with no good replica on a live node
    /// is `corrupt` when a live node holds a damaged copy (the bytes exist, but bad) and
    /// `missing` when none does. A fully replicated block with a corrupt replica left over is
    /// not a problem: that replica goes within a heartbeat.
    public var kind: BlockProblem.Kind? {
        if goodLive.isEmpty {
            return replicas.contains { $0.live && $0.corrupt } ? .corrupt : .missing
        }
        if goodLive.count < replication { return .underReplicated }
        return nil
    }

    /// True when the block needs the repair loop's or fsck's attention.
    var isNoteworthy: Bool {
        kind != nil || goodLive.count > replication || replicas.contains { $0.corrupt || $0.suspect }
    }

    /// How urgently the block needs a look: the class the store's `attention` column keeps
    /// for it, from counts alone.
    public var attention: BlockAttention? {
        switch kind {
        case .missing: .missing
        case .corrupt: .corrupt
        case .underReplicated: goodLive.count == 1 ? .oneGoodLeft : .underReplicated
        case nil: isNoteworthy ? .unsettled : nil
        }
    }

    /// The corrupt replicas that may be deleted now, judged on these records. A corrupt
    /// replica goes only once the block has its full number of trusted replicas on live
    /// nodes, so the repair loop copies from a good one first; never the last copy of
    /// anything. One exception keeps small clusters healing: when every node that could take
    /// a copy (`placeable`) already holds a replica of the block and the block needs one, no
    /// copy can be made until a corrupt one makes room, so with at least one trusted replica
    /// and no copy under way the corrupt ones on those nodes go, and the repair loop copies
    /// the block back there.
    public func corruptReplicasToDelete(placeable: Set<NodeID>, copiesUnderWay: Int) -> [NodeID] {
        let waiting = replicas.filter { $0.corrupt && !$0.queuedForDeletion }
        guard !waiting.isEmpty else { return [] }
        let trusted = trustedLive.count
        if trusted >= replication { return waiting.map(\.nodeID) }
        guard trusted >= 1, goodLive.count < replication, copiesUnderWay == 0, !placeable.isEmpty,
            placeable.isSubset(of: Set(holders))
        else { return [] }
        return waiting.filter { placeable.contains($0.nodeID) }.map(\.nodeID)
    }
}
