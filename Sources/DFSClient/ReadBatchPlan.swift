import DFSCore

/// Which node serves each small block of a tree download, and the `readBlocks` batches
/// that come of it: a pure decision, which the unit tests drive without a cluster.
///
/// Each block goes to one of its replicas that is not excluded (a node that already failed
/// it), nodes the client avoids (found hung) only when nothing else is left. Among the
/// others the node with the fewest bytes so far takes it, so the work spreads over every
/// node that holds replicas; but a block whose replicas are those of the block before it
/// stays on that block's node, for runs of up to ``Limits/filesPerBatchMax`` blocks (an
/// upload batch), so the blocks of one upload batch, side by side in one pack on each of
/// its nodes, are read together (one pread on the node). Each node's blocks are
/// cut into batches of at most `blocksMax` blocks and `bytesMax` bytes, and the batches
/// come out taking turns between nodes, so the first ones in flight keep every node busy.
struct ReadBatchPlan: Equatable {
    /// One `readBlocks` request: the node, and the positions of its blocks in the input.
    struct Batch: Equatable {
        var node: NodeAddress
        var blocks: [Int]
    }

    /// Blocks in a run kept on one node: an upload batch's, which share a pack.
    static let runMax = Limits.filesPerBatchMax

    var batches: [Batch] = []
    /// Positions of the blocks left with no replica to try.
    var unplaced: [Int] = []

    /// - Parameters:
    ///   - excluded: per block, nodes not to ask (they failed it already); missing for
    ///     blocks with none.
    ///   - avoided: nodes to ask only when a block has no other replica.
    init(
        _ blocks: [BlockLocation], excluded: [Int: Set<NodeID>] = [:], avoided: Set<NodeID> = [],
        blocksMax: Int = Limits.blocksPerReadMax, bytesMax: Int = Limits.payloadBytesMax
    ) {
        precondition(blocksMax > 0 && bytesMax > 0, "a batch must hold something")
        var load: [NodeID: Int] = [:]
        var perNode: [NodeID: (node: NodeAddress, blocks: [Int])] = [:]
        var nodeOrder: [NodeID] = []
        var run: (replicas: [NodeID], node: NodeID, count: Int)?
        for (position, block) in blocks.enumerated() {
            let skip = excluded[position] ?? []
            let candidates = block.replicas.filter { !skip.contains($0.nodeID) }
            let preferred = candidates.filter { !avoided.contains($0.nodeID) }
            let choices = preferred.isEmpty ? candidates : preferred
            guard let first = choices.first else {
                unplaced.append(position)
                continue
            }
            let replicaIDs = block.replicas.map(\.nodeID)
            var chosen = first
            if let current = run, current.replicas == replicaIDs, current.count < Self.runMax,
                let same = choices.first(where: { $0.nodeID == current.node })
            {
                chosen = same
                run?.count += 1
            } else {
                for candidate in choices.dropFirst() where load[candidate.nodeID, default: 0] < load[chosen.nodeID, default: 0] {
                    chosen = candidate
                }
                run = (replicaIDs, chosen.nodeID, 1)
            }
            load[chosen.nodeID, default: 0] += max(block.length, 1)
            if perNode[chosen.nodeID] == nil {
                perNode[chosen.nodeID] = (chosen, [])
                nodeOrder.append(chosen.nodeID)
            }
            perNode[chosen.nodeID]?.blocks.append(position)
        }
        // Each node's blocks cut by the limits, in order.
        var queues: [[Batch]] = []
        for nodeID in nodeOrder {
            guard let (node, positions) = perNode[nodeID] else { continue }
            var queue: [Batch] = []
            var current: [Int] = []
            var currentBytes = 0
            for position in positions {
                let length = blocks[position].length
                if !current.isEmpty && (current.count == blocksMax || currentBytes + length > bytesMax) {
                    queue.append(Batch(node: node, blocks: current))
                    current = []
                    currentBytes = 0
                }
                current.append(position)
                currentBytes += length
            }
            if !current.isEmpty { queue.append(Batch(node: node, blocks: current)) }
            queues.append(queue)
        }
        // Taking turns between nodes.
        var round = 0
        while queues.contains(where: { round < $0.count }) {
            for queue in queues where round < queue.count { batches.append(queue[round]) }
            round += 1
        }
    }
}
