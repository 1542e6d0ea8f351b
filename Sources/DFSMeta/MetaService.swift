import DFSCore
import DFSNet
import Foundation

/// Answers the meta server's requests. Decisions that need memory between requests (space
/// reserved on nodes by blocks not yet reported in a heartbeat) live here; everything that
/// must survive a restart lives in the store.
public actor MetaService {
    let store: MetaStore
    let options: MetaServer.Options
    /// Bytes promised to each node by allocations since its last heartbeat, so consecutive
    /// blocks spread over nodes instead of all going to the emptiest one.
    private var reservedBytes: [NodeID: Int] = [:]
    /// Placements so far, and each node's count when it was last chosen: nodes of similar
    /// room take turns (see `Placement.choose`).
    private var placements: UInt64 = 0
    private var lastChosen: [NodeID: UInt64] = [:]
    /// Every registered node with its latest heartbeat, kept in memory: a heartbeat is a
    /// liveness signal, not a namespace change, and is not worth an fsync. The database keeps
    /// what a registration says; after a restart, nodes count as silent until they speak.
    private var registry: [NodeID: NodeRecord]?
    /// Repair state: copies queued for each source node, copies under way, per-node load.
    var repairs = RepairState()
    /// Nodes that announced a planned stop, and when.
    private var leaving: [NodeID: Double] = [:]
    /// Nodes clients reported hung, until they answer again (see `SlowNodes`).
    var slowNodes: SlowNodes
    /// Passes of the repair loop so far (for tests and logs).
    public private(set) var repairPasses = 0
    /// Blocks seen so far in each node's full report, until its last page arrives.
    private var reportsInProgress: [NodeID: (reportID: UInt64, blocks: Set<BlockID>)] = [:]
    /// When this server started: until nodes have had time to send heartbeats, none is
    /// declared dead and nothing is repaired, so a restart causes no needless copying.
    let startedAt: Double

    init(store: MetaStore, options: MetaServer.Options) {
        self.store = store
        self.options = options
        self.slowNodes = SlowNodes(penalty: options.slowNodePenalty)
        self.startedAt = options.clock.now()
    }

    /// The time requests and background passes work with (``MetaServer/Options/clock``).
    nonisolated var clock: MetaClock { options.clock }

    /// Sends a reply once every change committed so far is on disk: the group commit's
    /// wait. Requests that arrive meanwhile share the next disk flush. With `durable` false
    /// (a reply that promises nothing the disk holds) it goes at once.
    func reply<M: Message>(_ message: M, on connection: Connection, durable: Bool = true) async throws {
        if durable && !store.isDurable { try await store.waitUntilDurable() }
        try await connection.send(message, timeout: options.timeouts.request)
    }

    func handle(_ frame: Frame, on connection: Connection) async throws {
        switch MessageType(rawValue: frame.type) {
        case .registerNode:
            // A registration lost to a crash costs nothing: the node is told to register
            // again. Not waiting for the disk keeps liveness independent of its speed.
            try await reply(register(frame.decode(RegisterNode.self), peer: connection.peer), on: connection, durable: false)
        case .heartbeat:
            // Liveness and block counts need no disk, and a slow disk must not make a node
            // look dead; but deleting a replica is safe only once the change that made it
            // garbage (a file replaced or removed) can no longer be lost.
            let answer = try await heartbeat(frame.decode(Heartbeat.self))
            try await reply(answer, on: connection, durable: !answer.deleteBlocks.isEmpty || !answer.copyBlocks.isEmpty)
        case .nodeLeaving:
            try await nodeLeaving(frame.decode(NodeLeaving.self))
            try await reply(OK(), on: connection)
        case .createFile:
            try await reply(createFile(frame.decode(CreateFile.self)), on: connection)
        case .allocateBlock:
            try await reply(allocateBlock(frame.decode(AllocateBlock.self)), on: connection)
        case .completeFile:
            let request = try frame.decode(CompleteFile.self)
            let info = try await store.completeFile(
                fileID: request.fileID, size: request.size, sha256: request.sha256, blocks: request.blocks, now: clock.now())
            try await reply(CompleteFileOK(info: info), on: connection)
        case .createFiles:
            try await reply(createFiles(frame.decode(CreateFiles.self)), on: connection)
        case .completeFiles:
            let request = try frame.decode(CompleteFiles.self)
            try Self.checkBatch(request.files.count)
            let results = try await store.completeFiles(request.files, now: clock.now())
            try await reply(
                CompleteFilesOK(
                    files: results.map { result in
                        switch result {
                        case .success: CompletedFile()
                        case .failure(let error): CompletedFile(error: error)
                        }
                    }), on: connection)
        case .abandonFile:
            try await store.abandonFile(fileID: frame.decode(AbandonFile.self).fileID, now: clock.now())
            try await reply(OK(), on: connection)
        case .reportBadReplica:
            // A hint, never a verdict: the replica's own node re-reads it (`verifyBlocks`).
            let report = try frame.decode(ReportBadReplica.self)
            if try await store.markReplicaSuspect(blockID: report.blockID, nodeID: report.nodeID, now: clock.now()) {
                Log.warn(
                    MetaServer.component,
                    "replica of block \(report.blockID) on node \(report.nodeID) reported bad (\(report.reason.prefix(200))); asking its node to re-verify it")
            }
            try await reply(OK(), on: connection)
        case .reportSlowNode:
            // A hint kept in memory, like heartbeats: nothing to wait for on disk.
            try await reportSlowNode(frame.decode(ReportSlowNode.self))
            try await reply(OK(), on: connection, durable: false)
        case .blockReport:
            try await blockReport(frame.decode(BlockReport.self))
            try await reply(OK(), on: connection)
        case .status:
            try await reply(status(), on: connection)
        case .fsck:
            try await reply(fsck(frame.decode(FsckRequest.self).path), on: connection)
        case .getFile:
            let found = try await store.getFile(path: frame.decode(GetFile.self).path)
            // Replicas on live nodes first: a reader tries them in order. Replicas on silent
            // nodes stay listed, last: right after a restart every node looks silent.
            let live = Set(try await liveNodes().map(\.id))
            let blocks = found.blocks.map { block in
                var ordered = block
                ordered.replicas = block.replicas.filter { live.contains($0.nodeID) } + block.replicas.filter { !live.contains($0.nodeID) }
                ordered.replicas = slowNodes.demoting(ordered.replicas)
                ordered.token = blockToken(block.blockID, .read)
                return ordered
            }
            try await reply(GetFileOK(info: found.info, blocks: blocks), on: connection)
        case .renewLeases:
            // A renewal lost to a crash costs nothing: the restarted server lets every
            // pending file live for a whole lease before it expires any.
            try await reply(renewLeases(frame.decode(RenewLeases.self)), on: connection, durable: false)
        case .list:
            let request = try frame.decode(List.self)
            var after = request.after
            while true {
                let page = try await store.list(path: request.path, after: after, limit: request.limit)
                try await reply(page, on: connection)
                guard request.stream == true, page.more, let last = page.entries.last else { break }
                after = last.path.name
            }
        default:
            if try await handleNamespace(frame, on: connection) { return }
            throw DFSError(.protocolError, "the meta server does not serve '\(frame.type)' messages")
        }
    }

    func register(_ request: RegisterNode, peer: Endpoint) async throws -> RegisterNodeOK {
        guard request.nodeID.isWellFormed else {
            throw DFSError(.invalidArgument, "node id '\(request.nodeID.rawValue.prefix(80))' is not 1 to 64 letters, digits and '-'")
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
        if let old = try await knownNodes().first(where: { $0.id == request.nodeID }), old.address != address,
            old.lastHeartbeat >= liveSince
        {
            // Two processes with one node id (a copied data folder), or a node that moved
            // before its old registration went silent. The record takes the new address, so
            // clients, placement and repair copies go there from now on; the warning tells
            // the operator that two processes may share an id.
            Log.warn(
                MetaServer.component,
                "node \(request.nodeID) registered at \(address) while its registration at \(old.address) is alive; \(old.address) is no longer used for it")
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
                MetaServer.component, "node \(request.nodeID) found corrupt blocks: \(request.corrupt.prefix(20).map(\.description).joined(separator: ", "))")
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
            signed.token = blockToken(command.blockID, .write)
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
    private func blockReport(_ report: BlockReport) async throws {
        // Only a registered node's report is kept, in memory or in the database: anyone else
        // could fill both with reports under made-up node ids. A node that gets this registers
        // again (its report loop starts over), then reports.
        guard try await knownNodes().contains(where: { $0.id == report.nodeID }) else {
            throw DFSError(.notFound, "node \(report.nodeID.rawValue.prefix(80)) is not registered; it must register before it reports its blocks")
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

    /// The replication a new file gets (the default when none is asked for), once it and the
    /// block size are checked against the limits.
    private func replication(_ asked: Int?, blockBytes: Int) throws -> Int {
        let replication = asked ?? options.defaultReplication
        guard (1...Limits.replicationMax).contains(replication) else {
            throw DFSError(.invalidArgument, "replication \(replication) is outside 1...\(Limits.replicationMax)")
        }
        guard (Limits.blockBytesMin...Limits.blockBytesMax).contains(blockBytes) else {
            throw DFSError(.invalidArgument, "block size \(blockBytes) is outside \(Limits.blockBytesMin)...\(Limits.blockBytesMax)")
        }
        return replication
    }

    static func checkBatch(_ count: Int) throws {
        guard count <= Limits.filesPerBatchMax else {
            throw DFSError(.tooLarge, "a batch holds at most \(Limits.filesPerBatchMax) files, not \(count)")
        }
    }

    private func createFile(_ request: CreateFile) async throws -> CreateFileOK {
        let replication = try replication(request.replication, blockBytes: request.blockBytes)
        guard request.allocateFirstBlock == true else {
            let fileID = try await store.createFile(
                path: request.path, replication: replication, blockBytes: request.blockBytes,
                overwrite: request.overwrite, now: clock.now())
            return CreateFileOK(fileID: fileID, replication: replication, leaseMilliseconds: leaseMilliseconds)
        }
        let placement = try await place(replication: replication, blockBytes: request.blockBytes, blockIndex: 0, excluding: [])
        let created = try await store.createFileWithFirstBlock(
            path: request.path, replication: replication, blockBytes: request.blockBytes,
            overwrite: request.overwrite, now: clock.now())
        return CreateFileOK(
            fileID: created.fileID, replication: replication,
            firstBlock: allocated(created.blockID, on: placement, blockBytes: request.blockBytes), leaseMilliseconds: leaseMilliseconds)
    }

    /// A batch of small files: every block goes to the same nodes, chosen once for the
    /// batch's bytes, so one `writeBlocks` stores them all.
    private func createFiles(_ request: CreateFiles) async throws -> CreateFilesOK {
        let replication = try replication(request.replication, blockBytes: request.blockBytes)
        try Self.checkBatch(request.files.count)
        for file in request.files where !(0...request.blockBytes).contains(file.size) {
            throw DFSError(.invalidArgument, "\(file.path) has \(file.size) bytes; a batched file fits in one block of \(request.blockBytes)")
        }
        let bytes = request.files.reduce(0) { $0 + $1.size }
        let targets = bytes > 0 ? try await place(replication: replication, blockBytes: bytes, blockIndex: 0, excluding: []) : []
        let created = try await store.createFiles(
            request.files, replication: replication, blockBytes: request.blockBytes, overwrite: request.overwrite, now: clock.now())
        // A batch is placed like one block: its targets get a block's room reserved, so
        // consecutive batches spread over the nodes as consecutive blocks do.
        for target in targets { reserve(max(bytes, request.blockBytes), on: target.nodeID) }
        var files: [CreatedFile] = []
        for result in created {
            switch result {
            case .success(let made):
                if let blockID = made.blockID {
                    files.append(CreatedFile(fileID: made.fileID, blockID: blockID, token: blockToken(blockID, .write)))
                } else {
                    files.append(CreatedFile(fileID: made.fileID))
                }
            case .failure(let error):
                files.append(CreatedFile(error: error))
            }
        }
        return CreateFilesOK(replication: replication, targets: targets, files: files, leaseMilliseconds: leaseMilliseconds)
    }

    private func allocateBlock(_ request: AllocateBlock) async throws -> AllocateBlockOK {
        let layout = try await store.pendingFileLayout(fileID: request.fileID)
        let placement = try await place(
            replication: layout.replication, blockBytes: layout.blockBytes, blockIndex: request.blockIndex,
            excluding: Set(request.excludeNodes))
        let blockID = try await store.addBlock(fileID: request.fileID, blockIndex: request.blockIndex, now: clock.now())
        return allocated(blockID, on: placement, blockBytes: layout.blockBytes)
    }

    /// Picks nodes for a new block: live ones with room, those of similar room in turns, never
    /// an excluded one.
    /// With fewer live nodes than the replication factor, the block goes to those there are.
    private func place(
        replication: Int, blockBytes: Int, blockIndex: Int, excluding excluded: Set<NodeID>
    ) async throws -> [NodeAddress] {
        var nodes = try await liveNodes()
        if nodes.count < replication {
            nodes = try await waitForFirstHeartbeats(wanted: replication, excluding: excluded)
        }
        let candidates = nodes.map { node in
            PlacementCandidate(
                nodeID: node.id,
                freeBytes: node.capacityBytes - node.usedBytes - reservedBytes[node.id, default: 0],
                lastChosen: lastChosen[node.id, default: 0])
        }
        let chosen = Placement.choose(count: replication, from: candidates, excluding: excluded, avoiding: slowNodes.nodes, neededBytes: blockBytes)
        for node in chosen {
            placements += 1
            lastChosen[node] = placements
        }
        guard !chosen.isEmpty else {
            let reason =
                nodes.isEmpty
                ? "no data node is registered and alive"
                : nodes.allSatisfy({ excluded.contains($0.id) })
                    ? "every live data node was excluded"
                    : "no live data node has room for a \(ByteSize.format(blockBytes)) block (full, or below its reserve)"
            // Right after a restart, nodes the database knows have not been heard from yet
            // (none is counted dead before `deadAfter` has passed): a client may try again.
            // Nodes that said goodbye, or none ever registered, will not come by themselves.
            let silent =
                nodes.isEmpty && clock.now() - startedAt < options.deadAfter.inSeconds
                ? try await knownNodes().filter { leaving[$0.id] == nil } : []
            throw DFSError(
                .unavailable, "cannot place block \(blockIndex): \(reason); start one with `dfs serve-data --meta HOST:PORT`",
                transient: silent.isEmpty ? nil : true)
        }
        let addresses = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.address) })
        return chosen.map { NodeAddress(nodeID: $0, address: addresses[$0]!) }
    }

    /// The reply for a block stored in the database: its targets get its room reserved.
    private func allocated(_ blockID: BlockID, on targets: [NodeAddress], blockBytes: Int) -> AllocateBlockOK {
        for target in targets { reserve(blockBytes, on: target.nodeID) }
        return AllocateBlockOK(blockID: blockID, targets: targets, token: blockToken(blockID, .write))
    }

    /// Counts bytes promised to a node until its next heartbeat; capped, so that however many
    /// allocations come between two heartbeats, free space less reserve never overflows.
    private func reserve(_ bytes: Int, on node: NodeID) {
        reservedBytes[node] = min(Limits.nodeBytesMax, reservedBytes[node, default: 0] + bytes)
    }

    /// A token for `operation` on `blockID`, when the cluster has a secret. Its expiry is
    /// read by data nodes against their own wall clocks, so it comes from the wall clock
    /// too, never from ``MetaServer/Options/clock``.
    nonisolated func blockToken(_ blockID: BlockID, _ operation: BlockAccess) -> String? {
        options.secret?.blockToken(blockID, operation, expires: MetaClock.system.now() + options.blockTokenLifetime.inSeconds)
    }
}

extension MetaService {
    /// Abandons pending files whose lease ran out; run periodically. Nothing expires within
    /// a lease of the server's start: renewals sent while it was down could not arrive, and
    /// the writers still at work renew as soon as it answers again.
    func expirePendingFiles() async throws {
        let now = clock.now()
        let lease = options.pendingLease.inSeconds
        guard now - startedAt >= lease else { return }
        let dropped = try await store.expirePendingFiles(createdBefore: now - lease, now: now)
        if dropped > 0 {
            Log.info(MetaServer.component, "abandoned \(dropped) pending files not renewed within \(options.pendingLease)")
        }
    }

    /// Nodes whose last heartbeat is recent enough to place blocks on.
    public func liveNodeCount() async throws -> Int {
        try await liveNodes().count
    }

    /// A planned stop: the node gets no new blocks at once, and its replicas still count for
    /// repair until the leave grace runs out, so a restart causes no copying.
    private func nodeLeaving(_ request: NodeLeaving) async throws {
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

    func countRepairPass() { repairPasses += 1 }

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

extension MetaService {
    /// Files whose upload has not completed (for tests and the status report).
    public func pendingFileCount() async throws -> Int {
        try await store.pendingFileCount()
    }
}
