import DFSCore

/// Reports about bad replicas, and their re-verification by the replicas' own nodes.
///
/// A replica moves: good → suspect (a client reported it) → good again (its node re-read it
/// and every piece checks) or corrupt (its node confirmed it bad). Only a node's word makes a
/// replica corrupt, and a corrupt replica is deleted only when
/// ``BlockHealth/corruptReplicasToDelete(placeable:copiesUnderWay:)`` allows it.
extension MetaStore {
    /// The database's id for a block id; nil for one that no block can have (SQLite's integers
    /// are signed), which therefore names no replica.
    static func rowID(_ blockID: BlockID) -> Int64? {
        Int64(exactly: blockID.rawValue)
    }

    /// A client says this replica served bad bytes or lacked the block: it becomes suspect,
    /// to be re-verified by its node (due at once). It stays listed for readers, after the
    /// others, and still counts for replication. Returns false when no such replica is
    /// recorded, or it is suspect or corrupt already.
    @discardableResult
    public func markReplicaSuspect(blockID: BlockID, nodeID: NodeID, now: Double) throws(DFSError) -> Bool {
        guard let id = Self.rowID(blockID) else { return false }
        return try database.run(
            "UPDATE replicas SET suspect = ? WHERE block_id = ? AND node_id = ? AND corrupt = 0 AND suspect IS NULL",
            [.real(now), .integer(id), .text(nodeID.rawValue)]) == 1
    }

    /// Up to `limit` suspect replicas on `nodeID` whose re-verification is due; each is due
    /// again `retryAfter` seconds later unless its node answers first (a lost reply, a node
    /// restarted, or a request it had no room for, is asked again).
    public func takeVerifications(nodeID: NodeID, limit: Int, now: Double, retryAfter: Double) throws(DFSError) -> [BlockID] {
        let node = SQLValue.text(nodeID.rawValue)
        let due = try database.query(
            "SELECT block_id FROM replicas WHERE node_id = ? AND suspect IS NOT NULL AND suspect <= ? ORDER BY suspect LIMIT ?",
            [node, .real(now), .int(max(0, limit))]
        ) { $0.int64(0) }
        guard !due.isEmpty else { return [] }
        try database.transaction { () throws(DFSError) in
            for id in due {
                try database.run(
                    "UPDATE replicas SET suspect = ? WHERE block_id = ? AND node_id = ? AND suspect IS NOT NULL",
                    [.real(now + retryAfter), .integer(id), node])
            }
        }
        return due.map { BlockID(UInt64($0)) }
    }

    /// A node confirms its replica bad (re-verification, scrubber, a failed read). The replica
    /// is no longer handed to readers and no longer counts as good, but it is not deleted
    /// here: the repair loop deletes it once the block has its good replicas elsewhere.
    public func markReplicaCorrupt(blockID: BlockID, nodeID: NodeID, now: Double, orphanGrace: Double) throws(DFSError) {
        try database.transaction { () throws(DFSError) in
            try recordCorrupt(blockID, on: nodeID, now: now, orphanGrace: orphanGrace)
        }
    }

    /// The inside of ``markReplicaCorrupt(blockID:nodeID:now:orphanGrace:)``, in a transaction
    /// begun by the caller. A block no file owns goes as any orphan does, after the grace.
    func recordCorrupt(_ blockID: BlockID, on nodeID: NodeID, now: Double, orphanGrace: Double) throws(DFSError) {
        guard let id = Self.rowID(blockID) else { return }
        let node = SQLValue.text(nodeID.rawValue)
        guard try !database.query("SELECT 1 FROM blocks WHERE id = ?", [.integer(id)], row: { $0.int(0) }).isEmpty else {
            try database.run(
                "INSERT INTO garbage(block_id, node_id, since) VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
                [.integer(id), node, .real(now + orphanGrace)])
            return
        }
        try database.run(
            """
            INSERT INTO replicas(block_id, node_id, corrupt) VALUES(?, ?, 1)
            ON CONFLICT(block_id, node_id) DO UPDATE SET corrupt = 1, suspect = NULL
            """, [.integer(id), node])
    }

    /// A node re-read a replica it was asked about and every piece checked. The suspicion is
    /// cleared when what the node holds is what the file recorded; a replica whose length or
    /// checksum differ holds some other bytes, and is corrupt.
    func recordVerified(_ summary: BlockSummary, on nodeID: NodeID) throws(DFSError) {
        guard let id = Self.rowID(summary.blockID) else { return }
        let node = SQLValue.text(nodeID.rawValue)
        let recorded = try database.query(
            """
            SELECT blocks.length, blocks.checksum FROM replicas
            JOIN blocks ON blocks.id = replicas.block_id JOIN files ON files.id = blocks.file_id
            WHERE replicas.block_id = ? AND replicas.node_id = ? AND replicas.corrupt = 0 AND files.complete = 1
            """, [.integer(id), node]
        ) { ($0.int(0), UInt32(truncatingIfNeeded: $0.int64(1))) }.first
        guard let (length, checksum) = recorded else { return }
        if length == summary.length && checksum == summary.checksum {
            try database.run("UPDATE replicas SET suspect = NULL WHERE block_id = ? AND node_id = ?", [.integer(id), node])
        } else {
            try database.run("UPDATE replicas SET corrupt = 1, suspect = NULL WHERE block_id = ? AND node_id = ?", [.integer(id), node])
        }
    }

    /// Queues for deletion the corrupt replicas of `blockID` that
    /// ``BlockHealth/corruptReplicasToDelete(placeable:copiesUnderWay:)`` allows, judged on the
    /// records as they stand inside this transaction (a heartbeat may have changed them since
    /// the repair loop looked). `live`: nodes whose replicas count. Returns the nodes told.
    @discardableResult
    public func deleteCorruptReplicas(
        of blockID: BlockID, live: Set<NodeID>, placeable: Set<NodeID>, copiesUnderWay: Int, now: Double
    ) throws(DFSError) -> [NodeID] {
        guard let id = Self.rowID(blockID) else { return [] }
        return try database.transaction { () throws(DFSError) -> [NodeID] in
            guard let block = try blockHealth(where: "blocks.id = ?", [.integer(id)], live: live).first else { return [] }
            let doomed = block.corruptReplicasToDelete(placeable: placeable, copiesUnderWay: copiesUnderWay)
            for node in doomed {
                try database.run(
                    "INSERT INTO garbage(block_id, node_id, since) VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
                    [.integer(id), .text(node.rawValue), .real(now)])
            }
            return doomed
        }
    }
}
