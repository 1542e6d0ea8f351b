import DFSCore

/// A data node as the registry knows it.
public struct NodeRecord: Sendable, Hashable {
    public var id: NodeID
    public var address: Endpoint
    public var capacityBytes: Int
    public var usedBytes: Int
    public var blockCount: Int
    /// Seconds since 1970.
    public var lastHeartbeat: Double
}

/// The node registry, and the replicas each node is told to delete in its heartbeat replies.
extension MetaStore {
    public func registerNode(
        _ id: NodeID, address: Endpoint, capacityBytes: Int, usedBytes: Int, blockCount: Int, now: Double
    ) throws(DFSError) {
        try database.run(
            """
            INSERT INTO nodes(id, host, port, capacity, used, block_count, last_heartbeat) VALUES(?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET host = excluded.host, port = excluded.port, capacity = excluded.capacity,
                used = excluded.used, block_count = excluded.block_count, last_heartbeat = excluded.last_heartbeat
            """,
            [
                .text(id.rawValue), .text(address.host), .int(address.port), .int(capacityBytes), .int(usedBytes),
                .int(blockCount), .real(now),
            ])
    }

    /// Records a heartbeat; false when the node is unknown and must register.
    public func heartbeat(_ id: NodeID, capacityBytes: Int, usedBytes: Int, blockCount: Int, now: Double) throws(DFSError) -> Bool {
        try database.run(
            "UPDATE nodes SET capacity = ?, used = ?, block_count = ?, last_heartbeat = ? WHERE id = ?",
            [.int(capacityBytes), .int(usedBytes), .int(blockCount), .real(now), .text(id.rawValue)]) == 1
    }

    public func nodes() throws(DFSError) -> [NodeRecord] {
        try database.query("SELECT id, host, port, capacity, used, block_count, last_heartbeat FROM nodes ORDER BY id") { row in
            NodeRecord(
                id: NodeID(row.text(0)), address: Endpoint(host: row.text(1), port: row.int(2)),
                capacityBytes: row.int(3), usedBytes: row.int(4), blockCount: row.int(5), lastHeartbeat: row.double(6))
        }
    }

    /// Up to `limit` blocks that `nodeID` should delete; each is handed out once.
    /// Entries whose time has not come yet (unknown blocks in their grace period) stay.
    public func takeGarbage(nodeID: NodeID, limit: Int, now: Double = .greatestFiniteMagnitude) throws(DFSError) -> [BlockID] {
        try database.transaction { () throws(DFSError) -> [BlockID] in
            let blocks = try database.query(
                "SELECT block_id FROM garbage WHERE node_id = ? AND since <= ? LIMIT ?",
                [.text(nodeID.rawValue), .real(now), .int(limit)]
            ) { BlockID(UInt64($0.int64(0))) }
            for block in blocks {
                try database.run(
                    "DELETE FROM garbage WHERE node_id = ? AND block_id = ?",
                    [.text(nodeID.rawValue), .integer(Int64(block.rawValue))])
            }
            return blocks
        }
    }

    /// Garbage entries for `nodeID` that are not due yet.
    public func deferredGarbage(nodeID: NodeID, now: Double) throws(DFSError) -> [BlockID] {
        try database.query("SELECT block_id FROM garbage WHERE node_id = ? AND since > ?", [.text(nodeID.rawValue), .real(now)]) {
            BlockID(UInt64($0.int64(0)))
        }
    }
}

extension MetaStore {
    /// Replicas waiting for their node to delete them, and files being written: two of the
    /// gauges a metrics scrape reads.
    public func waitingCounts() throws(DFSError) -> (garbage: Int, pendingFiles: Int) {
        try database.query("SELECT (SELECT count(*) FROM garbage), (SELECT count(*) FROM files WHERE complete = 0)") {
            (garbage: $0.int(0), pendingFiles: $0.int(1))
        }.first ?? (0, 0)
    }
}
