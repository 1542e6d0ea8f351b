import DFSCore

/// Writing files: creating them (one by one or in batches) and allocating their blocks on
/// the nodes placement picks.
extension MetaService {
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

    func createFile(_ request: CreateFile) async throws -> CreateFileOK {
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
    func createFiles(_ request: CreateFiles) async throws -> CreateFilesOK {
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
                    files.append(
                        CreatedFile(fileID: made.fileID, blockID: blockID, token: blockToken(blockID, .write, nodes: targets.map(\.nodeID))))
                } else {
                    files.append(CreatedFile(fileID: made.fileID))
                }
            case .failure(let error):
                files.append(CreatedFile(error: error))
            }
        }
        return CreateFilesOK(replication: replication, targets: targets, files: files, leaseMilliseconds: leaseMilliseconds)
    }

    func allocateBlock(_ request: AllocateBlock) async throws -> AllocateBlockOK {
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
        return AllocateBlockOK(blockID: blockID, targets: targets, token: blockToken(blockID, .write, nodes: targets.map(\.nodeID)))
    }

    /// Counts bytes promised to a node until its next heartbeat; capped, so that however many
    /// allocations come between two heartbeats, free space less reserve never overflows.
    private func reserve(_ bytes: Int, on node: NodeID) {
        reservedBytes[node] = min(Limits.nodeBytesMax, reservedBytes[node, default: 0] + bytes)
    }
}
