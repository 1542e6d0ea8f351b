import DFSCore
import DFSNet

/// The data nodes: registration, heartbeats, block reports, planned stops, and which
/// nodes count as live.
extension MetaService {
    func register(_ request: RegisterNode, peer: Endpoint) async throws -> RegisterNodeOK {
        guard request.nodeID.isWellFormed else {
            throw DFSError(.invalidArgument, "node id '\(request.nodeID.rawValue.prefix(Limits.quotedCharactersMax))' is not 1 to 64 letters, digits and '-'")
        }
        guard (1...65535).contains(request.port) else {
            throw DFSError(.invalidArgument, "port \(request.port) is not a port number")
        }
        let host: String
        if let given = request.host, !given.isEmpty, given != "0.0.0.0", given != "::" {
            host = given
        } else {
            host = peer.host
        }
        let address = Endpoint(host: host, port: request.port)
        if let old = try await knownNodes().first(where: { $0.id == request.nodeID }), old.address != address {
            if old.lastHeartbeat >= liveSince {
                // Two processes with one node id (a copied data folder), or a node that moved
                // before its old registration went silent. The record takes the new address, so
                // clients, placement and repair copies go there from now on; the warning tells
                // the operator that two processes may share an id.
                Log.warn(
                    MetaServer.component,
                    "node \(request.nodeID) registered at \(address) while its registration at \(old.address) is alive; \(old.address) is no longer used for it"
                )
            } else {
                // A node id taken to another address is always worth a line in the log: with
                // a cluster secret only a member can do it, without one anyone who can reach
                // the port.
                Log.warn(MetaServer.component, "node \(request.nodeID) moved from \(old.address) to \(address)")
            }
        }
        let record = NodeRecord(
            id: request.nodeID, address: address, capacityBytes: max(0, request.capacityBytes),
            usedBytes: max(0, request.usedBytes), blockCount: max(0, request.blockCount), lastHeartbeat: clock.now())
        try await store.registerNode(
            record.id, address: address, capacityBytes: record.capacityBytes, usedBytes: record.usedBytes,
            blockCount: record.blockCount, now: record.lastHeartbeat)
        _ = try await knownNodes()
        registry?[record.id] = record
        reservedBytes[request.nodeID] = 0
        leaving[request.nodeID] = nil
        slowNodes.forget(request.nodeID)
        repairs.forget(request.nodeID)
        Log.info(MetaServer.component, "node \(request.nodeID) registered at \(address)")
        return RegisterNodeOK(address: address, heartbeatMilliseconds: options.heartbeatInterval.inMilliseconds)
    }

    func heartbeat(_ request: Heartbeat) async throws -> HeartbeatOK {
        let now = clock.now()
        guard var record = try await knownNodes().first(where: { $0.id == request.nodeID }) else {
            return HeartbeatOK(registerAgain: true, deleteBlocks: [])
        }
        record.capacityBytes = max(0, request.capacityBytes)
        record.usedBytes = max(0, request.usedBytes)
        record.blockCount = max(0, request.blockCount)
        // A heartbeat sent just before a goodbye does not bring the node back; only a new
        // registration does.
        if leaving[request.nodeID] == nil { record.lastHeartbeat = now }
        registry?[record.id] = record
        reservedBytes[request.nodeID] = 0
        try await store.applyBlockChanges(
            nodeID: request.nodeID, added: request.added, deleted: request.deleted, corrupt: request.corrupt,
            verified: request.verified ?? [], now: now, orphanGrace: options.orphanGrace.inSeconds)
        if !request.corrupt.isEmpty {
            Log.warn(
                MetaServer.component,
                "node \(request.nodeID) found corrupt blocks: \(request.corrupt.prefix(Limits.loggedBlockIDsMax).map(\.description).joined(separator: ", "))")
        }
        let garbage = try await store.takeGarbage(nodeID: request.nodeID, limit: Limits.deletionsPerHeartbeatMax, now: now)
        // The node was there for the whole exchange: when a busy disk makes the commit above
        // slow, its next heartbeat comes late through no fault of its own.
        if leaving[request.nodeID] == nil, var current = registry?[request.nodeID] {
            current.lastHeartbeat = max(current.lastHeartbeat, clock.now())
            registry?[request.nodeID] = current
        }
        let copies = repairs.takeCommands(for: request.nodeID).map { command in
            var signed = command
            signed.token = blockToken(command.blockID, .write, nodes: [command.target.nodeID])
            // The target's address as registered now: it may have registered again elsewhere
            // since the copy was queued.
            if let current = registry?[command.target.nodeID]?.address { signed.target.address = current }
            return signed
        }
        let verify = try await store.takeVerifications(
            nodeID: request.nodeID, limit: HeartbeatOK.verifyBlocksMax, now: now, retryAfter: Self.verifyRetry)
        heardFromPossiblySlowNode(request.nodeID, now: now)
        return HeartbeatOK(registerAgain: false, deleteBlocks: garbage, copyBlocks: copies, verifyBlocks: verify.isEmpty ? nil : verify)
    }

    /// One page of a node's full block list. Each page is reconciled as it comes; when the
    /// last arrives, replicas the node no longer has are forgotten.
    func blockReport(_ report: BlockReport) async throws {
        // Only a registered node's report is kept, in memory or in the database: anyone else
        // could fill both with reports under made-up node ids. A node that gets this registers
        // again (its report loop starts over), then reports.
        guard try await knownNodes().contains(where: { $0.id == report.nodeID }) else {
            throw DFSError(
                .notFound, "node \(report.nodeID.rawValue.prefix(Limits.quotedCharactersMax)) is not registered; it must register before it reports its blocks")
        }
        var progress = reportsInProgress[report.nodeID]
        if progress?.reportID != report.reportID { progress = (report.reportID, []) }
        progress!.blocks.formUnion(report.blocks.map(\.blockID))
        guard progress!.blocks.count <= Limits.nodeBlocksMax else {
            reportsInProgress[report.nodeID] = nil
            throw DFSError(.tooLarge, "node \(report.nodeID) reported more than \(Limits.nodeBlocksMax) blocks")
        }
        reportsInProgress[report.nodeID] = report.last ? nil : progress
        try await store.applyBlockChanges(
            nodeID: report.nodeID, added: report.blocks, deleted: [], corrupt: [], now: clock.now(),
            orphanGrace: options.orphanGrace.inSeconds)
        if report.last {
            let forgotten = try await store.forgetUnreportedReplicas(nodeID: report.nodeID, reported: progress!.blocks)
            if forgotten > 0 {
                Log.warn(MetaServer.component, "node \(report.nodeID) no longer has \(forgotten) replicas it was recorded with")
            }
        }
    }

    /// Nodes whose last heartbeat is recent enough to place blocks on.
    public func liveNodeCount() async throws -> Int {
        try await liveNodes().count
    }

    /// A planned stop: the node gets no new blocks at once, and its replicas still count for
    /// repair until the leave grace runs out, so a restart causes no copying.
    func nodeLeaving(_ request: NodeLeaving) async throws {
        guard var record = try await knownNodes().first(where: { $0.id == request.nodeID }) else {
            throw DFSError(.notFound, "node \(request.nodeID) is not registered")
        }
        record.lastHeartbeat = -.infinity
        registry?[record.id] = record
        leaving[request.nodeID] = clock.now()
        Log.info(MetaServer.component, "node \(request.nodeID) is leaving; its blocks stay counted for \(options.leaveGrace)")
    }

    /// Nodes away on a planned stop whose leave grace has not run out.
    func recentlyLeft() -> Set<NodeID> {
        let since = clock.now() - options.leaveGrace.inSeconds
        return Set(leaving.filter { $0.value >= since }.keys)
    }

    /// A node is live while its last heartbeat is within `deadAfter`.
    var liveSince: Double { clock.now() - options.deadAfter.inSeconds }

    func liveNodes() async throws -> [NodeRecord] {
        let since = liveSince
        return try await knownNodes().filter { $0.lastHeartbeat >= since }
    }

    /// Every registered node, loaded from the database on first use with no heartbeat yet.
    func knownNodes() async throws -> [NodeRecord] {
        if registry == nil {
            let stored = try await store.nodes()
            // Re-check after the await: a registration may have filled it meanwhile.
            if registry == nil {
                registry = Dictionary(
                    uniqueKeysWithValues: stored.map { node in
                        var silent = node
                        silent.lastHeartbeat = -.infinity
                        return (node.id, silent)
                    })
            }
        }
        return registry!.values.sorted { $0.id < $1.id }
    }
}
