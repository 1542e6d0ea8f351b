import DFSCore
import DFSNet
import Foundation

/// Answers the meta server's requests. Decisions that need memory between requests (space
/// reserved on nodes by blocks not yet reported in a heartbeat) live here; everything that
/// must survive a restart lives in the store.
///
/// This file holds its state and the dispatch of each request; the handlers are in
/// extensions by topic: data nodes (`+Nodes`), writing files (`+Write`), leases (`+Lease`),
/// repair (`+Repair`), status and fsck (`+Health`), nodes reported hung (`+SlowNodes`)
/// and backups of the database (`+Backup`).
public actor MetaService {
    let store: MetaStore
    /// The store's executor: the service's own work and the store's calls run on one queue,
    /// so a handler's calls into the store cost no hop.
    nonisolated public var unownedExecutor: UnownedSerialExecutor { store.unownedExecutor }
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

    /// The server's metrics; repair counts its copies here.
    nonisolated let metrics: MetaMetrics
    /// Requests and block bytes over the last minutes, for the status page.
    var throughput = ThroughputHistory()
    /// A backup is being made or sent. One at a time: each holds a whole copy of the
    /// database on disk, and its steps take turns with requests on the store's queue.
    var backupUnderWay = false

    /// With PostgreSQL: the lease, whose table lists the meta servers for `status`.
    let election: MetaElection?

    init(store: MetaStore, options: MetaServer.Options, metrics: MetaMetrics = MetaMetrics(), election: MetaElection? = nil) {
        self.store = store
        self.election = election
        self.options = options
        self.metrics = metrics
        self.slowNodes = SlowNodes(penalty: options.slowNodePenalty)
        self.startedAt = options.clock.now()
    }

    /// The time requests and background passes work with (``MetaServer/Options/clock``).
    nonisolated var clock: MetaClock { options.clock }

    /// A request's answer and whether it may leave only once every change committed so far
    /// is on disk (the group commit's wait: requests that arrive meanwhile share the next
    /// disk flush). An answer that promises nothing the disk holds goes at once.
    struct Answer: Sendable {
        var message: any Message
        var durable = true
    }

    /// Serves one request on its connection's executor (``FrameServer``): the frame is
    /// decoded and the answer encoded and sent there, and the work in between runs on the
    /// store's executor, which this actor shares, so a request costs one hop there and one
    /// back. Each case below makes one call into the actor.
    func serve(_ frame: Frame, on connection: isolated Connection) async throws {
        let answer: Answer
        switch MessageType(rawValue: frame.type) {
        case .registerNode:
            // A registration lost to a crash costs nothing: the node is told to register
            // again. Not waiting for the disk keeps liveness independent of its speed.
            answer = Answer(message: try await register(frame.decode(RegisterNode.self), peer: connection.peer), durable: false)
        case .heartbeat:
            // Liveness and block counts need no disk, and a slow disk must not make a node
            // look dead; but deleting a replica is safe only once the change that made it
            // garbage (a file replaced or removed) can no longer be lost.
            let reply = try await heartbeat(frame.decode(Heartbeat.self))
            answer = Answer(message: reply, durable: !reply.deleteBlocks.isEmpty || !reply.copyBlocks.isEmpty)
        case .nodeLeaving:
            try await nodeLeaving(frame.decode(NodeLeaving.self))
            answer = Answer(message: OK())
        case .createFile:
            answer = Answer(message: try await createFile(frame.decode(CreateFile.self)))
        case .allocateBlock:
            answer = Answer(message: try await allocateBlock(frame.decode(AllocateBlock.self)))
        case .completeFile:
            let request = try frame.decode(CompleteFile.self)
            let info = try await store.completeFile(
                fileID: request.fileID, size: request.size, sha256: request.sha256, blocks: request.blocks, etag: request.etag,
                properties: request.properties, now: clock.now())
            answer = Answer(message: CompleteFileOK(info: info))
        case .createFiles:
            answer = Answer(message: try await createFiles(frame.decode(CreateFiles.self)))
        case .completeFiles:
            let request = try frame.decode(CompleteFiles.self)
            try Self.checkBatch(request.files.count)
            let results = try await store.completeFiles(request.files, now: clock.now())
            answer = Answer(
                message: CompleteFilesOK(
                    files: results.map { result in
                        switch result {
                        case .success: CompletedFile()
                        case .failure(let error): CompletedFile(error: error)
                        }
                    }))
        case .abandonFile:
            try await store.abandonFile(fileID: frame.decode(AbandonFile.self).fileID, now: clock.now())
            answer = Answer(message: OK())
        case .reportBadReplica:
            try await reportBadReplica(frame.decode(ReportBadReplica.self))
            answer = Answer(message: OK())
        case .reportSlowNode:
            // A hint kept in memory, like heartbeats: nothing to wait for on disk.
            try await reportSlowNode(frame.decode(ReportSlowNode.self))
            answer = Answer(message: OK(), durable: false)
        case .blockReport:
            try await blockReport(frame.decode(BlockReport.self))
            answer = Answer(message: OK())
        case .status:
            answer = Answer(message: try await status())
        case .fsck:
            answer = Answer(message: try await fsck(frame.decode(FsckRequest.self).path))
        case .getFile:
            answer = Answer(message: try await getFile(frame.decode(GetFile.self).path))
        case .getFiles:
            answer = Answer(message: try await getFiles(frame.decode(GetFiles.self)))
        case .renewLeases:
            // A renewal lost to a crash costs nothing: the restarted server lets every
            // pending file live for a whole lease before it expires any.
            answer = Answer(message: try await renewLeases(frame.decode(RenewLeases.self)), durable: false)
        case .list:
            // Pages go one at a time: a folder of any size costs one page of memory.
            let request = try frame.decode(List.self)
            var after = request.after
            while true {
                let page = try await listPage(request, after: after)
                try await send(Answer(message: page), on: connection)
                guard request.stream == true, page.more, let last = page.entries.last else { break }
                after = last.path.name
            }
            return
        case .makeDirectory:
            try await store.makeDirectory(frame.decode(MakeDirectory.self).path, now: clock.now())
            answer = Answer(message: OK())
        case .move:
            let request = try frame.decode(Move.self)
            try await store.move(request.source, to: request.target, now: clock.now())
            answer = Answer(message: OK())
        case .setAttributes:
            try await store.setAttributes(frame.decode(SetAttributes.self))
            answer = Answer(message: OK())
        case .makeLink:
            let request = try frame.decode(MakeLink.self)
            try await store.makeLink(request.path, target: request.target, overwrite: request.overwrite, now: clock.now())
            answer = Answer(message: OK())
        case .backup:
            // Streamed: a reply, then the copy's bytes in frames (`MetaService+Backup`).
            _ = try frame.decode(BackupRequest.self)
            try await backup(on: connection)
            return
        case .remove:
            let request = try frame.decode(Remove.self)
            try await store.remove(request.path, recursive: request.recursive, now: clock.now())
            answer = Answer(message: OK())
        default:
            throw DFSError(.protocolError, "the meta server does not serve '\(frame.type)' messages")
        }
        try await send(answer, on: connection)
    }

    /// Sends an answer from its connection, once durable when it must be.
    func send(_ answer: Answer, on connection: isolated Connection) async throws {
        if answer.durable && !store.isDurable { try await store.waitUntilDurable() }
        try await connection.send(answer.message, timeout: options.timeouts.request)
    }

    /// A file or folder as a reader gets it (`getFile`).
    func getFile(_ path: DFSPath) async throws -> GetFileOK {
        let found = try await store.lookUpTogether(path)
        let live = Set(try await liveNodes().map(\.id))
        return GetFileOK(info: found.info, blocks: found.blocks.map { readable($0, live: live) })
    }

    /// Files as `getFile` describes them, in the request's order, until the reply holds
    /// ``Limits/getFilesReplyBytes`` of JSON (always at least one). A path that names
    /// nothing (or is refused) gets its error in its place; a failure of the store fails the
    /// whole request.
    func getFiles(_ request: GetFiles) async throws -> GetFilesOK {
        let live = Set(try await liveNodes().map(\.id))
        var files: [FoundFile] = []
        var replyBytes = 0
        var measure = WireJSONWriter(bytes: [])
        for lookedUp in try await store.lookUpTogether(request.paths) {
            let found: FoundFile
            switch lookedUp {
            case .success(let file):
                found = FoundFile(file: GetFileOK(info: file.info, blocks: file.blocks.map { readable($0, live: live) }))
            case .failure(let error) where error.code == .internalError || error.code == .ioError:
                throw error
            case .failure(let error):
                found = FoundFile(error: error)
            }
            measure.bytes.removeAll(keepingCapacity: true)
            found.write(to: &measure)
            if !files.isEmpty && replyBytes + measure.bytes.count > Limits.getFilesReplyBytes { break }
            replyBytes += measure.bytes.count + 1
            files.append(found)
        }
        return GetFilesOK(files: files)
    }

    /// One page of a listing, with its small files' blocks when asked for.
    func listPage(_ request: List, after: String?) async throws -> ListOK {
        let withBlocks = request.withBlocks == true
        var live: Set<NodeID> = []
        if withBlocks { live = Set(try await liveNodes().map(\.id)) }
        var page = try await store.list(path: request.path, after: after, limit: request.limit, withBlocks: withBlocks)
        page.blocks = page.blocks?.map { $0?.map { readable($0, live: live, replicasMax: Limits.replicationMax) } }
        return page
    }

    /// A client's report of a bad replica: a hint, never a verdict; the replica's own node
    /// re-reads it (`verifyBlocks`).
    func reportBadReplica(_ report: ReportBadReplica) async throws {
        if try await store.markReplicaSuspect(blockID: report.blockID, nodeID: report.nodeID, now: clock.now()) {
            Log.warn(
                MetaServer.component,
                "replica of block \(report.blockID) on node \(report.nodeID) reported bad (\(report.reason.prefix(ReportBadReplica.reasonBytesMax))); asking its node to re-verify it"
            )
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
        ordered.token = blockToken(block.blockID, .read, nodes: ordered.replicas.map(\.nodeID))
        return ordered
    }

    /// A token for `operation` on `blockID` at the nodes `nodes`, when the cluster has a
    /// secret. Its expiry is read by data nodes against their own wall clocks, so it comes
    /// from the wall clock too, never from ``MetaServer/Options/clock``.
    nonisolated func blockToken(_ blockID: BlockID, _ operation: BlockAccess, nodes: [NodeID]) -> String? {
        options.secret?.blockToken(
            blockID, operation, nodes: nodes, expires: MetaClock.system.now() + options.blockTokenLifetime.inSeconds)
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
