import DFSCore

extension MetaStore {
    /// Applies what a data node says changed: blocks it stored, deleted, found corrupt, or
    /// re-verified at the meta server's request.
    public func applyBlockChanges(
        nodeID: NodeID, added: [BlockSummary], deleted: [BlockID], corrupt: [BlockID], verified: [BlockSummary] = [],
        now: Double, orphanGrace: Double
    ) throws(DFSError) {
        guard !added.isEmpty || !deleted.isEmpty || !corrupt.isEmpty || !verified.isEmpty else { return }
        try database.transaction { () throws(DFSError) in
            for blockID in deleted {
                let id = Int64(blockID.rawValue)
                try database.run("DELETE FROM replicas WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
                try database.run("DELETE FROM garbage WHERE block_id = ? AND node_id = ?", [.integer(id), .text(nodeID.rawValue)])
            }
            for blockID in corrupt {
                try recordCorrupt(blockID, on: nodeID, now: now, orphanGrace: orphanGrace)
            }
            for summary in verified {
                try recordVerified(summary, on: nodeID)
            }
            // PostgreSQL: the blocks a node stored, as sets (a block reported twice goes one by one).
            if database.dialect == .postgres, Set(added.map(\.blockID)).count == added.count, added.count > 1 {
                try reconcileAsSets(added, on: nodeID, now: now, orphanGrace: orphanGrace)
                return
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
    /// - Its file is still pending: the copy is recorded, and `completeFile` keeps it only if
    ///   the client names its node.
    /// - Length or checksum differ from the record: the replica is corrupt (kept until the
    ///   block has its good replicas elsewhere; see ``BlockHealth/corruptReplicasToDelete``).
    /// - Otherwise it is a good replica (a copy made by repair, or one forgotten).
    private func reconcile(_ summary: BlockSummary, on nodeID: NodeID, now: Double, orphanGrace: Double) throws(DFSError) {
        let id = Int64(summary.blockID.rawValue)
        let node = SQLValue.text(nodeID.rawValue)
        let known = try database.query(
            "SELECT blocks.length, blocks.checksum, files.complete FROM blocks JOIN files ON files.id = blocks.file_id WHERE blocks.id = ?",
            [.integer(id)]
        ) { ($0.int(0), UInt32(truncatingIfNeeded: $0.int64(1)), $0.int(2) == 1) }.first
        guard let (length, checksum, complete) = known else {
            try database.run(
                "INSERT INTO garbage(block_id, node_id, since) VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
                [.integer(id), node, .real(now + orphanGrace)])
            return
        }
        guard complete else {
            // A block of a file still being written: its place is recorded now, so that when
            // the upload is abandoned (the client gave up, or stopped renewing its lease) the
            // copy is deleted with the file, not kept until the node's next full report.
            // Completing the file keeps only the copies its writer vouches for.
            try database.run("INSERT INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 0) ON CONFLICT DO NOTHING", [.integer(id), node])
            return
        }
        // A replica already marked for deletion (over-replication, corruption) stays marked.
        if try !database.query("SELECT 1 FROM garbage WHERE block_id = ? AND node_id = ?", [.integer(id), node], row: { $0.int(0) }).isEmpty {
            return
        }
        if length != summary.length || checksum != summary.checksum {
            try database.run(
                "INSERT INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 1) ON CONFLICT(block_id, node_id) DO UPDATE SET corrupt = 1, suspect = NULL",
                [.integer(id), node])
            return
        }
        try database.run("INSERT INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 0) ON CONFLICT DO NOTHING", [.integer(id), node])
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
                try database.run(
                    "DELETE FROM replicas WHERE block_id = ? AND node_id = ?",
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
            try database.run(
                "INSERT INTO garbage(block_id, node_id, since) VALUES(?, ?, ?) ON CONFLICT(block_id, node_id) DO UPDATE SET since = excluded.since",
                [.integer(id), .text(nodeID.rawValue), .real(now)])
        }
    }

    /// Every block of a complete file (under `path`, if given) that is not exactly healthy or
    /// has a corrupt or suspect replica. Nodes in `live` count as alive.
    public func unhealthyBlocks(live: Set<NodeID>, under path: DFSPath? = nil) throws(DFSError) -> [BlockHealth] {
        var filter = ""
        var values: [SQLValue] = []
        if let path, !path.isRoot {
            filter = " AND (files.path = ?1 OR substr(files.path, 1, length(?1) + 1) = ?1 || '/')"
            values = [.text(path.string)]
        }
        return try blockHealth(where: "files.complete = 1\(filter)", values, live: live, keeping: \.isNoteworthy)
    }

    /// The health of the blocks matching `condition` that `keeping` accepts, in block id
    /// order, each block's replicas in node order (which replica repair copies from or drops
    /// follows it). Blocks are judged one at a time as the rows arrive, so only those kept
    /// are held. SQLite reads the replicas through their primary key, in that order already,
    /// and sorts nothing for it; PostgreSQL would otherwise return them in any order.
    func blockHealth(
        where condition: String, _ values: [SQLValue], live: Set<NodeID>, keeping: (BlockHealth) -> Bool = { _ in true }
    ) throws(DFSError) -> [BlockHealth] {
        let rows = try database.query(
            """
            SELECT blocks.id, blocks.file_id, blocks.block_index, files.replication, replicas.node_id, replicas.corrupt,
                replicas.suspect IS NOT NULL,
                replicas.corrupt = 1 AND EXISTS(
                    SELECT 1 FROM garbage WHERE garbage.block_id = replicas.block_id AND garbage.node_id = replicas.node_id)
            FROM blocks JOIN files ON files.id = blocks.file_id
            LEFT JOIN replicas ON replicas.block_id = blocks.id
            WHERE \(condition)
            ORDER BY blocks.id, replicas.node_id
            """, values
        ) { row in
            (
                BlockID(UInt64(row.int64(0))), row.int64(1), row.int(2), row.int(3),
                row.isNull(4)
                    ? nil
                    : ReplicaHealth(
                        nodeID: NodeID(row.text(4)), live: live.contains(NodeID(row.text(4))), corrupt: row.int(5) == 1,
                        suspect: row.int(6) == 1, queuedForDeletion: row.int(7) == 1)
            )
        }
        var result: [BlockHealth] = []
        var current: BlockHealth?
        for (blockID, fileID, index, replication, replica) in rows {
            if current?.blockID != blockID {
                if let block = current, keeping(block) { result.append(block) }
                current = BlockHealth(blockID: blockID, fileID: fileID, blockIndex: index, replication: replication)
            }
            if let replica { current!.replicas.append(replica) }
        }
        if let block = current, keeping(block) { result.append(block) }
        return result
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
        let values: [SQLValue] = [.text(path.string)]
        let filter = "files.complete = 1 AND (files.path = ?1 OR substr(files.path, 1, length(?1) + 1) = ?1 || '/')"
        let files = try database.query("SELECT count(*), coalesce(sum(size), 0) FROM files WHERE \(filter)", values) { ($0.int(0), $0.int(1)) }.first ?? (0, 0)
        let blocks = try database.query("SELECT count(*) FROM blocks JOIN files ON files.id = blocks.file_id WHERE \(filter)", values) { $0.int(0) }.first ?? 0
        return (files.0, blocks, files.1)
    }
}
