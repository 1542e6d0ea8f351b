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

    init(store: MetaStore, options: MetaServer.Options) {
        self.store = store
        self.options = options
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    func handle(_ frame: Frame, on connection: Connection) async throws {
        let timeout = options.timeouts.request
        switch MessageType(rawValue: frame.type) {
        case .registerNode:
            try await connection.send(register(frame.decode(RegisterNode.self), peer: connection.peer), timeout: timeout)
        case .heartbeat:
            try await connection.send(heartbeat(frame.decode(Heartbeat.self)), timeout: timeout)
        case .createFile:
            try await connection.send(createFile(frame.decode(CreateFile.self)), timeout: timeout)
        case .allocateBlock:
            try await connection.send(allocateBlock(frame.decode(AllocateBlock.self)), timeout: timeout)
        case .completeFile:
            let request = try frame.decode(CompleteFile.self)
            try await store.completeFile(fileID: request.fileID, size: request.size, sha256: request.sha256, blocks: request.blocks, now: Self.now())
            try await connection.send(OK(), timeout: timeout)
        case .abandonFile:
            try await store.abandonFile(fileID: frame.decode(AbandonFile.self).fileID)
            try await connection.send(OK(), timeout: timeout)
        case .reportBadReplica:
            let report = try frame.decode(ReportBadReplica.self)
            if try await store.markReplicaCorrupt(blockID: report.blockID, nodeID: report.nodeID, now: Self.now()) {
                Log.warn(MetaServer.component, "replica of block \(report.blockID) on node \(report.nodeID) is bad: \(report.reason.prefix(200))")
            }
            try await connection.send(OK(), timeout: timeout)
        case .getFile:
            let found = try await store.getFile(path: frame.decode(GetFile.self).path)
            try await connection.send(GetFileOK(info: found.info, blocks: found.blocks), timeout: timeout)
        case .list:
            let request = try frame.decode(List.self)
            try await connection.send(store.list(path: request.path, after: request.after, limit: request.limit), timeout: timeout)
        default:
            if try await handleNamespace(frame, on: connection) { return }
            throw DFSError(.protocolError, "the meta server does not serve '\(frame.type)' messages")
        }
    }

    private func register(_ request: RegisterNode, peer: Endpoint) async throws -> RegisterNodeOK {
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
        try await store.registerNode(
            request.nodeID, address: address, capacityBytes: max(0, request.capacityBytes),
            usedBytes: max(0, request.usedBytes), blockCount: max(0, request.blockCount), now: Self.now())
        reservedBytes[request.nodeID] = 0
        Log.info(MetaServer.component, "node \(request.nodeID) registered at \(address)")
        return RegisterNodeOK(address: address, heartbeatMilliseconds: milliseconds(options.heartbeatInterval))
    }

    private func heartbeat(_ request: Heartbeat) async throws -> HeartbeatOK {
        let known = try await store.heartbeat(
            request.nodeID, capacityBytes: max(0, request.capacityBytes), usedBytes: max(0, request.usedBytes),
            blockCount: max(0, request.blockCount), now: Self.now())
        guard known else { return HeartbeatOK(registerAgain: true, deleteBlocks: []) }
        reservedBytes[request.nodeID] = 0
        let garbage = try await store.takeGarbage(nodeID: request.nodeID, limit: 1000)
        return HeartbeatOK(registerAgain: false, deleteBlocks: garbage)
    }

    private func createFile(_ request: CreateFile) async throws -> CreateFileOK {
        let replication = request.replication ?? options.defaultReplication
        guard (1...Limits.replicationMax).contains(replication) else {
            throw DFSError(.invalidArgument, "replication \(replication) is outside 1...\(Limits.replicationMax)")
        }
        guard (Limits.blockBytesMin...Limits.blockBytesMax).contains(request.blockBytes) else {
            throw DFSError(.invalidArgument, "block size \(request.blockBytes) is outside \(Limits.blockBytesMin)...\(Limits.blockBytesMax)")
        }
        let fileID = try await store.createFile(
            path: request.path, replication: replication, blockBytes: request.blockBytes,
            overwrite: request.overwrite, now: Self.now())
        return CreateFileOK(fileID: fileID, replication: replication)
    }

    /// Picks nodes for a new block: live ones, most free space first, never an excluded one.
    /// With fewer live nodes than the replication factor, the block goes to those there are.
    private func allocateBlock(_ request: AllocateBlock) async throws -> AllocateBlockOK {
        let layout = try await store.pendingFileLayout(fileID: request.fileID)
        let now = Self.now()
        let deadAfter = seconds(options.deadAfter)
        let nodes = try await store.nodes().filter { now - $0.lastHeartbeat <= deadAfter }
        let candidates = nodes.map { node in
            PlacementCandidate(
                nodeID: node.id,
                freeBytes: node.capacityBytes - node.usedBytes - reservedBytes[node.id, default: 0])
        }
        let chosen = Placement.choose(count: layout.replication, from: candidates, excluding: Set(request.excludeNodes))
        guard !chosen.isEmpty else {
            let reason = nodes.isEmpty ? "no data node is registered and alive" : "every live data node was excluded"
            throw DFSError(.unavailable, "cannot place block \(request.blockIndex): \(reason); start one with `dfs serve-data --meta HOST:PORT`")
        }
        let blockID = try await store.addBlock(fileID: request.fileID, blockIndex: request.blockIndex)
        let addresses = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0.address) })
        for nodeID in chosen { reservedBytes[nodeID, default: 0] += layout.blockBytes }
        return AllocateBlockOK(
            blockID: blockID, targets: chosen.map { NodeAddress(nodeID: $0, address: addresses[$0]!) })
    }
}

func milliseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

extension MetaService {
    /// Abandons pending files older than the lease; run periodically.
    func expirePendingFiles() async throws {
        let now = Self.now()
        let dropped = try await store.expirePendingFiles(createdBefore: now - seconds(options.pendingLease), now: now)
        if dropped > 0 {
            Log.info(MetaServer.component, "abandoned \(dropped) pending files older than \(options.pendingLease)")
        }
    }

    /// Nodes whose last heartbeat is recent enough to place blocks on.
    public func liveNodeCount() async throws -> Int {
        let now = Self.now()
        let deadAfter = seconds(options.deadAfter)
        return try await store.nodes().filter { now - $0.lastHeartbeat <= deadAfter }.count
    }
}

extension MetaService {
    /// Files whose upload has not completed (for tests and the status report).
    public func pendingFileCount() async throws -> Int {
        try await store.pendingFileCount()
    }
}
