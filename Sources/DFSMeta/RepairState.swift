import DFSCore

/// What the repair loop has asked for and not yet seen done. Pure bookkeeping, no I/O.
///
/// A copy is queued for its source node, handed out in that node's next heartbeat reply, and
/// counted against both nodes' limit until the target reports the block or the copy times out.
struct RepairState {
    struct Copy: Hashable {
        var blockID: BlockID
        var source: NodeID
        var target: NodeID
        var deadline: Double
    }

    private(set) var queued: [NodeID: [CopyBlockCommand]] = [:]
    private(set) var underWay: [BlockID: [Copy]] = [:]
    private(set) var load: [NodeID: Int] = [:]
    /// Where the last pass stopped reading each class of blocks needing a look; nil starts a
    /// class from its beginning (see ``MetaStore/blocksNeedingRepair(after:limit:live:)``).
    var cursor: [BlockAttention: BlockID] = [:]

    /// Blocks with a copy under way, whose holders ``settle(now:alive:holders:)`` asks for.
    var blocksUnderWay: [BlockID] { Array(underWay.keys) }

    func load(of node: NodeID) -> Int { load[node, default: 0] }

    var loadByNode: [NodeID: Int] { load.filter { $0.value > 0 } }

    func targets(of blockID: BlockID) -> [NodeID] { underWay[blockID, default: []].map(\.target) }

    mutating func schedule(_ copy: Copy, targetAddress: Endpoint) {
        underWay[copy.blockID, default: []].append(copy)
        queued[copy.source, default: []].append(
            CopyBlockCommand(blockID: copy.blockID, target: NodeAddress(nodeID: copy.target, address: targetAddress)))
        load[copy.source, default: 0] += 1
        load[copy.target, default: 0] += 1
    }

    /// Gives up every copy `node` sends or receives: its process started again, and the
    /// copies it had under way ended with the old one. The next repair pass asks again.
    mutating func forget(_ node: NodeID) {
        for (blockID, copies) in underWay {
            for copy in copies where copy.source == node || copy.target == node {
                load[copy.source, default: 1] -= 1
                load[copy.target, default: 1] -= 1
                queued[copy.source]?.removeAll { $0.blockID == blockID && $0.target.nodeID == copy.target }
            }
            let open = copies.filter { $0.source != node && $0.target != node }
            underWay[blockID] = open.isEmpty ? nil : open
        }
    }

    /// The copies a node should start now; each is handed out once.
    mutating func takeCommands(for node: NodeID) -> [CopyBlockCommand] {
        queued.removeValue(forKey: node) ?? []
    }

    /// Ends copies whose target now holds the block, copies past their deadline, and copies
    /// whose source or target is not `alive` (dead, or started again since the copy was
    /// asked for: a copy is a task of the node's process, which a restart ends; waiting for
    /// its deadline would hold the block's repair up to a minute for nothing).
    /// `holders` gives a block's holders, or nil when the block is whole again (every copy of
    /// it is then done).
    /// Returns how many copies ended with their target holding the block (or the block whole).
    @discardableResult
    mutating func settle(now: Double, alive: (NodeID) -> Bool = { _ in true }, holders: (BlockID) -> Set<NodeID>?) -> Int {
        var finished = 0
        for (blockID, copies) in underWay {
            let held = holders(blockID)
            func isDone(_ copy: Copy) -> Bool {
                held.map { $0.contains(copy.target) } ?? true || copy.deadline < now || !alive(copy.source) || !alive(copy.target)
            }
            for copy in copies where isDone(copy) {
                if held.map({ $0.contains(copy.target) }) ?? true { finished += 1 }
                load[copy.source, default: 1] -= 1
                load[copy.target, default: 1] -= 1
                queued[copy.source]?.removeAll { $0.blockID == blockID && $0.target.nodeID == copy.target }
            }
            let open = copies.filter { !isDone($0) }
            underWay[blockID] = open.isEmpty ? nil : open
        }
        return finished
    }
}
