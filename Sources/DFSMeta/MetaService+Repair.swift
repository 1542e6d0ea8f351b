import DFSCore
import Foundation

extension MetaService {
    /// Copies that take longer than this are given up and scheduled again.
    static let copyTimeout: Double = 60
    /// A node that has not answered a request to re-verify a replica within this is asked
    /// again (its reply was lost, it restarted, or its queue was full). Re-reading one block
    /// takes well under a second on a working disk.
    static let verifyRetry: Double = 30

    /// One pass of the repair loop: blocks with too few good replicas on live nodes get
    /// copies scheduled (fewest replicas first, within each node's copy limit); blocks with
    /// too many lose the extras; corrupt replicas go once their block is whole elsewhere.
    ///
    /// The pass reads no more than ``Limits/repairBlocksPerPassMax`` blocks, taken from the
    /// store's index of blocks needing a look (most urgent first, going on where the last
    /// pass stopped), and those with copies under way: its cost does not grow with the
    /// number of blocks in the cluster.
    func repair() async throws {
        let now = clock.now()
        // Right after a start, every node looks silent; wait until each has had its chance.
        guard isRepairing else { return }
        defer { countRepairPass() }
        let live = try await liveNodes()
        let placeable = Set(live.map(\.id))
        // Replicas on a node away on a planned stop still count, for its leave grace.
        let counted = try await countLiveReplicas()
        // Copies under way end when their target holds the block or the block is whole.
        let copied = try await store.noteworthyBlocks(repairs.blocksUnderWay, live: counted)
        let inFlight = Dictionary(copied.map { ($0.blockID, Set($0.holders)) }, uniquingKeysWith: { first, _ in first })
        let finished = repairs.settle(now: now, alive: { placeable.contains($0) }) { inFlight[$0] }
        if finished > 0 { metrics.repairCopies.increment(by: Int64(finished)) }
        let (unhealthy, cursor) = try await store.blocksNeedingRepair(
            after: repairs.cursor, limit: Limits.repairBlocksPerPassMax, live: counted)
        repairs.cursor = cursor
        let limit = max(1, options.repairCopiesPerNode)
        for block in unhealthy {
            let underWay = repairs.targets(of: block.blockID)
            if !block.corruptReplicasToDelete(placeable: placeable, copiesUnderWay: underWay.count).isEmpty {
                let doomed = try await store.deleteCorruptReplicas(
                    of: block.blockID, live: counted, placeable: placeable, copiesUnderWay: underWay.count, now: now)
                for node in doomed {
                    Log.info(
                        MetaServer.component,
                        "repair: block \(block.blockID) has \(block.trustedLive.count) trusted replicas of \(block.replication); deleting the corrupt one on \(node)"
                    )
                }
            }
            guard !block.goodLive.isEmpty else { continue }
            // Extras wait while any replica is suspect: the one kept might be the bad one.
            if block.goodLive.count > block.replication, underWay.isEmpty {
                if block.suspect.isEmpty { try await removeExtraReplicas(block, live: live, now: now) }
                continue
            }
            // Copy from a replica no one doubts when there is one; a suspect source checks
            // every piece it sends, so a bad one fails the copy and is found out.
            let sources = block.trustedLive.isEmpty ? block.goodLive : block.trustedLive
            var needed = block.replication - block.goodLive.count - underWay.count
            while needed > 0 {
                guard let source = sources.filter({ repairs.load(of: $0) < limit }).min(by: { repairs.load(of: $0) < repairs.load(of: $1) })
                else { break }
                let excluded = Set(block.holders + repairs.targets(of: block.blockID))
                let candidates =
                    live
                    .filter { !excluded.contains($0.id) && repairs.load(of: $0.id) < limit }
                    .map { PlacementCandidate(nodeID: $0.id, freeBytes: $0.capacityBytes - $0.usedBytes) }
                guard let target = Placement.choose(count: 1, from: candidates, excluding: []).first,
                    let address = live.first(where: { $0.id == target })?.address
                else { break }
                repairs.schedule(
                    RepairState.Copy(blockID: block.blockID, source: source, target: target, deadline: now + Self.copyTimeout),
                    targetAddress: address)
                metrics.repairCopiesStarted.increment()
                Log.info(
                    MetaServer.component,
                    "repair: block \(block.blockID) has \(block.goodLive.count) of \(block.replication) replicas; copying from \(source) to \(target)")
                needed -= 1
            }
        }
    }

    /// Keeps a block's replicas on the nodes with the most free space and drops the rest.
    private func removeExtraReplicas(_ block: BlockHealth, live: [NodeRecord], now: Double) async throws {
        let free = Dictionary(live.map { ($0.id, $0.capacityBytes - $0.usedBytes) }, uniquingKeysWith: { first, _ in first })
        let extras = block.goodLive.sorted { free[$0, default: 0] < free[$1, default: 0] }.prefix(block.goodLive.count - block.replication)
        for node in extras {
            try await store.removeReplica(blockID: block.blockID, nodeID: node, now: now)
            Log.info(
                MetaServer.component,
                "repair: block \(block.blockID) has \(block.goodLive.count) replicas for \(block.replication); dropping the one on \(node)")
        }
    }
}

extension MetaService {
    /// False during the start-up quiet period, when nodes may not have sent heartbeats yet.
    public var isRepairing: Bool {
        clock.now() - startedAt >= options.deadAfter.inSeconds
    }

    /// Repair copies each node is sending or receiving now (for tests and reports).
    public func repairLoad() -> [NodeID: Int] {
        repairs.loadByNode
    }

    /// Garbage entries for a node that are not yet due (unknown blocks in their grace period).
    public func deferredGarbage(nodeID: NodeID) async throws -> [BlockID] {
        try await store.deferredGarbage(nodeID: nodeID, now: clock.now())
    }
}
