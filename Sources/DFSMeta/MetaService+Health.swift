import DFSCore
import Foundation

/// `status` and `fsck`, and which nodes' replicas count as live in the health the store keeps.
extension MetaService {
    /// Brings the store's counted nodes (whose replicas count as live in its kept health) in
    /// line with the nodes' liveness now, and returns them. Counted are the live nodes and
    /// those away on a planned stop within their leave grace (their replicas still count for
    /// repair). A node that dies or comes back updates its blocks' counts once, here, not at
    /// every heartbeat. In the start-up quiet period no node stops being counted: nodes may
    /// not have spoken yet, and none is declared dead (as the repair loop waits too), so a
    /// restart does not make every block look missing.
    func countLiveReplicas() async throws -> Set<NodeID> {
        let live = Set(try await liveNodes().map(\.id)).union(recentlyLeft())
        let changed = try await store.setCountedNodes(live, keepingCounted: !isRepairing)
        for node in changed.added {
            Log.info(MetaServer.component, "node \(node) is live: its replicas count again")
        }
        for node in changed.removed {
            Log.warn(MetaServer.component, "node \(node) is silent: its replicas no longer count, and its blocks need repair")
        }
        return try await store.countedNodes()
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
        _ = try await countLiveReplicas()
        let metaServers = try await election?.servers(within: max(options.failoverAfter * 3, .seconds(30)))
        return StatusOK(nodes: nodes, totals: try await store.healthTotals(), metaServers: metaServers)
    }

    /// What a metrics scrape reads: the status (nodes and health totals, brought up to date
    /// as for `dfs status`), the garbage waiting and the files being written.
    func metricsSnapshot() async throws -> (status: StatusOK, garbage: Int, pendingFiles: Int) {
        let status = try await status()
        let counts = try await store.waitingCounts()
        return (status, counts.garbage, counts.pendingFiles)
    }

    /// What the status page shows, read now.
    public func statusPageContent(server: String) async throws -> StatusPage.Content {
        let status = try await status()
        let problems = try await fsck(.root)
        return StatusPage.Content(
            server: server, uptime: clock.now() - startedAt, status: status, problemFiles: StatusPage.worst(problems.files),
            rates: throughput.rates, generatedAt: Date().timeIntervalSince1970)
    }

    /// `dfs status --json`'s shape, read now (`GET /api/status`).
    public func statusJSON() async throws -> StatusJSON {
        StatusJSON(try await status())
    }

    /// Takes a sample of the requests and bytes so far when one is due (``ThroughputHistory``).
    func sampleThroughput() {
        throughput.sample(now: clock.now(), requests: metrics.requests.total)
    }

    /// The health of the files under `path`. For `/`, the totals are the kept ones and the
    /// files listed are found through the store's index of blocks needing a look: nothing
    /// reads every block. For a folder or a file, its blocks are read: the report is about
    /// them.
    func fsck(_ path: DFSPath) async throws -> FsckOK {
        _ = try await store.getFile(path: path)
        let counted = try await countLiveReplicas()
        let totals: HealthTotals
        let problems: [BlockHealth]
        if path.isRoot {
            totals = try await store.healthTotals()
            let fileIDs = try await store.filesWithProblems(limit: FsckOK.listed)
            problems = try await store.problemBlocks(ofFiles: fileIDs, live: counted)
        } else {
            let scanned = try await store.scannedTotals(live: counted, under: path)
            totals = scanned.totals
            problems = scanned.unhealthy.filter { $0.kind != nil }
        }
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
        let healthy = totals.underReplicated + totals.missing + totals.corrupt == 0
        var reply = FsckOK(files: files, totals: totals, healthy: healthy)
        // Rows whose path, parent and name disagree list in the wrong folder or in none:
        // the namespace is not healthy, whatever its blocks are.
        reply.pathProblems = try await store.pathProblems(under: path, limit: FsckOK.listed)
        if reply.pathProblems != nil { reply.healthy = false }
        return reply
    }
}
