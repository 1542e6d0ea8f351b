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
    func repair() async throws {
        let now = clock.now()
        // Right after a start, every node looks silent; wait until each has had its chance.
        guard isRepairing else { return }
        defer { countRepairPass() }
        let live = try await liveNodes()
        let placeable = Set(live.map(\.id))
        // Replicas on a node away on a planned stop still count, for its leave grace.
        let counted = placeable.union(recentlyLeft())
        let unhealthy = try await store.unhealthyBlocks(live: counted)
        let byID = Dictionary(unhealthy.map { ($0.blockID, $0) }, uniquingKeysWith: { first, _ in first })
        repairs.settle(now: now, alive: { placeable.contains($0) }) { blockID in byID[blockID].map { Set($0.holders) } }
        let limit = max(1, options.repairCopiesPerNode)
        for block in unhealthy.sorted(by: { $0.goodLive.count < $1.goodLive.count }) {
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

    func status() async throws -> StatusOK {
        let now = clock.now()
        let since = liveSince
        let away = recentlyLeft()
        let nodes = try await knownNodes().map { node in
            NodeStatus(
                id: node.id, address: node.address, alive: node.lastHeartbeat >= since, capacity: node.capacityBytes,
                used: node.usedBytes, blocks: node.blockCount,
                lastHeartbeatAge: node.lastHeartbeat.isFinite ? max(0, now - node.lastHeartbeat) : -1,
                leaving: away.contains(node.id) ? true : nil, slow: slowNodes.contains(node.id) ? true : nil)
        }
        return StatusOK(nodes: nodes, totals: try await totals(under: .root).totals)
    }

    func fsck(_ path: DFSPath) async throws -> FsckOK {
        _ = try await store.getFile(path: path)
        let (totals, unhealthy) = try await totals(under: path)
        let problems = unhealthy.filter { $0.kind != nil }
        var byFile: [Int64: [BlockProblem]] = [:]
        for block in problems {
            byFile[block.fileID, default: []].append(
                BlockProblem(
                    blockIndex: block.blockIndex, blockID: block.blockID, kind: block.kind!,
                    goodReplicas: block.goodLive.count, expectedReplicas: block.replication,
                    corruptReplicas: block.corrupt.count, suspectReplicas: block.suspect.count))
        }
        let listedIDs = Set(byFile.keys.sorted().prefix(FsckOK.listed))
        let paths = try await store.paths(of: listedIDs)
        let files = listedIDs.compactMap { fileID -> FileProblems? in
            guard let path = paths[fileID] else { return nil }
            return FileProblems(path: path, problems: byFile[fileID]!.sorted { $0.blockIndex < $1.blockIndex })
        }.sorted { $0.path < $1.path }
        var reply = FsckOK(files: files, totals: totals, healthy: problems.isEmpty)
        // Rows whose path, parent and name disagree list in the wrong folder or in none:
        // the namespace is not healthy, whatever its blocks are.
        reply.pathProblems = try await store.pathProblems(under: path, limit: FsckOK.listed)
        if reply.pathProblems != nil { reply.healthy = false }
        return reply
    }

    private func totals(under path: DFSPath) async throws -> (totals: HealthTotals, unhealthy: [BlockHealth]) {
        let counts = try await store.counts(under: path)
        let unhealthy = try await store.unhealthyBlocks(live: Set(try await liveNodes().map(\.id)), under: path)
        let totals = HealthTotals(
            files: counts.files, blocks: counts.blocks, bytes: counts.bytes,
            underReplicated: unhealthy.filter { $0.kind == .underReplicated }.count,
            missing: unhealthy.filter { $0.kind == .missing }.count,
            corrupt: unhealthy.filter { $0.kind == .corrupt }.count,
            corruptReplicas: unhealthy.reduce(0) { $0 + $1.corrupt.count },
            suspectReplicas: unhealthy.reduce(0) { $0 + $1.suspect.count })
        return (totals, unhealthy)
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
