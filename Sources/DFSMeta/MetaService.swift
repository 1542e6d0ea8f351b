import DFSCore
import DFSNet
import Foundation

/// Answers the meta server's requests. Decisions that need memory between requests (space
/// reserved on nodes by blocks not yet reported in a heartbeat) live here; everything that
/// must survive a restart lives in the store.
///
/// This file holds its state and the dispatch of each request; the handlers are in
/// extensions by topic: data nodes (`+Nodes`), writing files (`+Write`), leases (`+Lease`),
/// folders, moves and removals (`+Namespace`), repair (`+Repair`), status and fsck (`+Health`), and
/// nodes reported hung (`+SlowNodes`).
public actor MetaService {
    let store: MetaStore
    let options: MetaServer.Options
    /// Bytes promised to each node by allocations since its last heartbeat, so consecutive
    /// blocks spread over nodes instead of all going to the emptiest one.
    var reservedBytes: [NodeID: Int] = [:]
    /// Placements so far, and each node's count when it was last chosen: nodes of similar
    /// room take turns (see `Placement.choose`).
    var placements: UInt64 = 0
    var lastChosen: [NodeID: UInt64] = [:]
    /// Every registered node with its latest heartbeat, kept in memory: a heartbeat is a
    /// liveness signal, not a namespace change, and is not worth an fsync. The database keeps
    /// what a registration says; after a restart, nodes count as silent until they speak.
    var registry: [NodeID: NodeRecord]?
    /// Repair state: copies queued for each source node, copies under way, per-node load.
    var repairs = RepairState()
    /// Nodes that announced a planned stop, and when.
    var leaving: [NodeID: Double] = [:]
    /// Nodes clients reported hung, until they answer again (see `SlowNodes`).
    var slowNodes: SlowNodes
    /// Passes of the repair loop so far (for tests and logs).
    public private(set) var repairPasses = 0
    /// Blocks seen so far in each node's full report, until its last page arrives.
    var reportsInProgress: [NodeID: (reportID: UInt64, blocks: Set<BlockID>)] = [:]
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
                    "replica of block \(report.blockID) on node \(report.nodeID) reported bad (\(report.reason.prefix(ReportBadReplica.reasonBytesMax))); asking its node to re-verify it"
                )
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
            let live = Set(try await liveNodes().map(\.id))
            try await reply(GetFileOK(info: found.info, blocks: found.blocks.map { readable($0, live: live) }), on: connection)
        case .renewLeases:
            // A renewal lost to a crash costs nothing: the restarted server lets every
            // pending file live for a whole lease before it expires any.
            try await reply(renewLeases(frame.decode(RenewLeases.self)), on: connection, durable: false)
        case .list:
            let request = try frame.decode(List.self)
            let withBlocks = request.withBlocks == true
            var live: Set<NodeID> = []
            if withBlocks { live = Set(try await liveNodes().map(\.id)) }
            var after = request.after
            while true {
                var page = try await store.list(path: request.path, after: after, limit: request.limit, withBlocks: withBlocks)
                page.blocks = page.blocks?.map { $0?.map { readable($0, live: live, replicasMax: Limits.replicationMax) } }
                try await reply(page, on: connection)
                guard request.stream == true, page.more, let last = page.entries.last else { break }
                after = last.path.name
            }
        default:
            if try await handleNamespace(frame, on: connection) { return }
            throw DFSError(.protocolError, "the meta server does not serve '\(frame.type)' messages")
        }
    }

    /// A block as a reader gets it: replicas on live nodes first, since a reader tries them
    /// in order (replicas on silent nodes stay listed, last: right after a restart every
    /// node looks silent), nodes reported hung after the others, at most `replicasMax` of
    /// them, and a read token.
    func readable(_ block: BlockLocation, live: Set<NodeID>, replicasMax: Int = .max) -> BlockLocation {
        var ordered = block
        ordered.replicas = block.replicas.filter { live.contains($0.nodeID) } + block.replicas.filter { !live.contains($0.nodeID) }
        ordered.replicas = Array(slowNodes.demoting(ordered.replicas).prefix(replicasMax))
        ordered.token = blockToken(block.blockID, .read)
        return ordered
    }

    /// A token for `operation` on `blockID`, when the cluster has a secret. Its expiry is
    /// read by data nodes against their own wall clocks, so it comes from the wall clock
    /// too, never from ``MetaServer/Options/clock``.
    nonisolated func blockToken(_ blockID: BlockID, _ operation: BlockAccess) -> String? {
        options.secret?.blockToken(blockID, operation, expires: MetaClock.system.now() + options.blockTokenLifetime.inSeconds)
    }

    /// Counts one pass of the repair loop (`MetaService+Repair.swift`).
    func countRepairPass() { repairPasses += 1 }
}

extension MetaService {
    /// Files whose upload has not completed (for tests and the status report).
    public func pendingFileCount() async throws -> Int {
        try await store.pendingFileCount()
    }
}
