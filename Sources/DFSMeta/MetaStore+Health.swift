import DFSCore

/// A block whose good replicas on live nodes are not what its file asks for, or that has a
/// corrupt replica: the repair loop's and fsck's view of one block.
public struct BlockHealth: Sendable, Hashable {
    public var blockID: BlockID
    public var fileID: Int64
    public var blockIndex: Int
    public var replication: Int
    /// Nodes with a good replica whose heartbeats are recent.
    public var goodLive: [NodeID]
    /// Every node with a replica row, good or corrupt, alive or not.
    public var holders: [NodeID]
    public var corruptCount: Int

    public var kind: BlockProblem.Kind? {
        if goodLive.isEmpty { return .missing }
        if goodLive.count < replication { return .underReplicated }
        if corruptCount > 0 { return .corrupt }
        return nil
    }
}

extension MetaStore {
    /// Applies what a data node says changed: blocks it stored, deleted, or found corrupt.
    public func applyBlockChanges(
        nodeID: NodeID, added: [BlockSummary], deleted: [BlockID], corrupt: [BlockID], now: Double, orphanGrace: Double
    ) throws(DFSError) {
        guard !added.isEmpty || !deleted.isEmpty || !corrupt.isEmpty else { return }
        try database.transaction { () throws(DFSError) in
            for blockID in deleted {
                let id = Int64(blockID.rawValue)
                try database.run("DELETE FROM replicas WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
                try database.run("DELETE FROM garbage WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
            }
            for blockID in corrupt {
                let id = Int64(blockID.rawValue)
                try database.run("UPDATE replicas SET corrupt = 1 WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
                try database.run("INSERT OR REPLACE INTO garbage(block_id, node_id, since) VALUES(?, ?, ?)",
                                 [.integer(id), .text(nodeID.rawValue), .real(now)])
            }
            for summary in added {
                try reconcile(summary, on: nodeID, now: now, orphanGrace: orphanGrace)
            }
        }
    }

    /// Makes the records agree with one block a node says it holds.
    ///
    /// - No file owns it: it is deleted after `orphanGrace`, so a write still in flight (whose
    ///   file may be dropped and re-created meanwhile) is never cut short.
    /// - Its file is still pending: the replica is recorded (its length and checksum are not
    ///   known yet), so that abandoning the file, or its lease running out, sends the block
    ///   to `garbage` at once instead of leaving it to a later full report and the orphan
    ///   grace. The client's `completeFile` records it too.
    /// - Length or checksum differ from the record: the replica is corrupt.
    /// - Otherwise it is a good replica (a copy made by repair, or one forgotten).
    private func reconcile(_ summary: BlockSummary, on nodeID: NodeID, now: Double, orphanGrace: Double) throws(DFSError) {
        let id = Int64(summary.blockID.rawValue)
        let node = SQLiteValue.text(nodeID.rawValue)
        let known = try database.query(
            "SELECT blocks.length, blocks.checksum, files.complete FROM blocks JOIN files ON files.id = blocks.file_id WHERE blocks.id = ?",
            [.integer(id)]
        ) { ($0.int(0), UInt32(truncatingIfNeeded: $0.int64(1)), $0.int(2) == 1) }.first
        guard let (length, checksum, complete) = known else {
            try database.run("INSERT OR IGNORE INTO garbage(block_id, node_id, since) VALUES(?, ?, ?)",
                             [.integer(id), node, .real(now + orphanGrace)])
            return
        }
        guard complete else {
            try database.run("INSERT OR IGNORE INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 0)", [.integer(id), node])
            return
        }
        // A replica already marked for deletion (over-replication, corruption) stays marked.
        if try !database.query("SELECT 1 FROM garbage WHERE block_id = ? AND node_id = ?", [.integer(id), node], row: { $0.int(0) }).isEmpty {
            return
        }
        if length != summary.length || checksum != summary.checksum {
            try database.run("INSERT OR REPLACE INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 1)", [.integer(id), node])
            try database.run("INSERT OR REPLACE INTO garbage(block_id, node_id, since) VALUES(?, ?, ?)", [.integer(id), node, .real(now)])
            return
        }
        try database.run("INSERT OR IGNORE INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 0)", [.integer(id), node])
    }

    /// After a full block report: replicas recorded on the node that it did not report are
    /// forgotten (the node lost them).
    @discardableResult
    public func forgetUnreportedReplicas(nodeID: NodeID, reported: Set<BlockID>) throws(DFSError) -> Int {
        try database.transaction { () throws(DFSError) -> Int in
            let recorded = try database.query("SELECT block_id FROM replicas WHERE node_id = ?", [.text(nodeID.rawValue)]) {
                BlockID(UInt64($0.int64(0)))
            }
            var forgotten = 0
            for blockID in recorded where !reported.contains(blockID) {
                try database.run("DELETE FROM replicas WHERE block_id = ? AND node_id = ?",
                                 [.integer(Int64(blockID.rawValue)), .text(nodeID.rawValue)])
                forgotten += 1
            }
            return forgotten
        }
    }

    /// Drops one replica of a block that has too many; its node is told to delete it.
    public func removeReplica(blockID: BlockID, nodeID: NodeID, now: Double) throws(DFSError) {
        try database.transaction { () throws(DFSError) in
            let id = Int64(blockID.rawValue)
            try database.run("DELETE FROM replicas WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
            try database.run("INSERT OR REPLACE INTO garbage(block_id, node_id, since) VALUES(?, ?, ?)",
                             [.integer(id), .text(nodeID.rawValue), .real(now)])
        }
    }

    /// Every block of a complete file (under `path`, if given) that is not exactly healthy.
    /// Nodes in `live` count as alive.
    public func unhealthyBlocks(live: Set<NodeID>, under path: DFSPath? = nil) throws(DFSError) -> [BlockHealth] {
        var filter = ""
        var values: [SQLiteValue] = []
        if let path, !path.isRoot {
            filter = " AND (files.path = ?1 OR substr(files.path, 1, length(?1) + 1) = ?1 || '/')"
            values = [.text(path.string)]
        }
        let rows = try database.query(
            """
            SELECT blocks.id, blocks.file_id, blocks.block_index, files.replication, replicas.node_id, replicas.corrupt
            FROM blocks JOIN files ON files.id = blocks.file_id
            LEFT JOIN replicas ON replicas.block_id = blocks.id
            WHERE files.complete = 1\(filter)
            ORDER BY blocks.id
            """, values
        ) { row in
            (BlockID(UInt64(row.int64(0))), row.int64(1), row.int(2), row.int(3),
             row.isNull(4) ? nil : NodeID(row.text(4)), row.int(5) == 1)
        }
        var result: [BlockHealth] = []
        var current: BlockHealth?
        func flush() {
            if let block = current, block.kind != nil || block.goodLive.count > block.replication { result.append(block) }
        }
        for (blockID, fileID, index, replication, node, corrupt) in rows {
            if current?.blockID != blockID {
                flush()
                current = BlockHealth(blockID: blockID, fileID: fileID, blockIndex: index, replication: replication,
                                      goodLive: [], holders: [], corruptCount: 0)
            }
            guard let node else { continue }
            current!.holders.append(node)
            if corrupt {
                current!.corruptCount += 1
            } else if live.contains(node) {
                current!.goodLive.append(node)
            }
        }
        flush()
        return result
    }

    /// Garbage entries for `nodeID` that are not due yet.
    public func deferredGarbage(nodeID: NodeID, now: Double) throws(DFSError) -> [BlockID] {
        try database.query("SELECT block_id FROM garbage WHERE node_id = ? AND since > ?", [.text(nodeID.rawValue), .real(now)]) {
            BlockID(UInt64($0.int64(0)))
        }
    }

    /// The path of each file id, for reports.
    public func paths(of fileIDs: Set<Int64>) throws(DFSError) -> [Int64: DFSPath] {
        var paths: [Int64: DFSPath] = [:]
        for fileID in fileIDs {
            if let text = try database.query("SELECT path FROM files WHERE id = ?", [.integer(fileID)], row: { $0.text(0) }).first,
                let path = try? DFSPath(text)
            {
                paths[fileID] = path
            }
        }
        return paths
    }

    /// Files, blocks and bytes of complete files under `path`.
    public func counts(under path: DFSPath) throws(DFSError) -> (files: Int, blocks: Int, bytes: Int) {
        if path.isRoot { return try counts() }
        let values: [SQLiteValue] = [.text(path.string)]
        let filter = "files.complete = 1 AND (files.path = ?1 OR substr(files.path, 1, length(?1) + 1) = ?1 || '/')"
        let files = try database.query("SELECT count(*), coalesce(sum(size), 0) FROM files WHERE \(filter)", values) { ($0.int(0), $0.int(1)) }.first ?? (0, 0)
        let blocks = try database.query("SELECT count(*) FROM blocks JOIN files ON files.id = blocks.file_id WHERE \(filter)", values) { $0.int(0) }.first ?? 0
        return (files.0, blocks, files.1)
    }
}
