import DFSCore

/// Block health as the triggers keep it (`MetaSchema+Health`): the totals `status` prints, the
/// nodes whose replicas count as live, and the blocks needing a look as ranges of the
/// `blocks_attention` index. Nothing here reads every block.
extension MetaStore {
    /// Files, blocks, bytes and the health counts of complete files, from the row the
    /// triggers keep: the same figures ``scannedTotals(live:under:)`` finds by reading every
    /// block, with the nodes of ``countedNodes()`` as the live ones.
    public func healthTotals() throws(DFSError) -> HealthTotals {
        let totals = try database.query(
            """
            SELECT files, blocks, bytes, under_replicated, missing, corrupt, corrupt_replicas, suspect_replicas
            FROM health_totals WHERE id = 0
            """
        ) { row in
            HealthTotals(
                files: row.int(0), blocks: row.int(1), bytes: row.int(2), underReplicated: row.int(3), missing: row.int(4),
                corrupt: row.int(5), corruptReplicas: row.int(6), suspectReplicas: row.int(7))
        }.first
        guard let totals else { throw DFSError(.internalError, "database \(database.path) has no health totals row") }
        return totals
    }

    /// PostgreSQL's upkeep, from the meta server's housekeeping (nothing with SQLite): the
    /// totals' changes folded (``compactHealthDeltas(threshold:)``), and fresh statistics
    /// for the tables that changed much since their last `ANALYZE`. The planner reads the
    /// statistics to choose between an index and a scan: with those of an empty table, a
    /// freshly filled one is scanned whole for each file's replicas (2 ms against 0.1 ms at
    /// 6,000 replicas, and worse as it grows), until autovacuum analyzes it, up to a minute
    /// or more later.
    public func tidyDatabase() throws(DFSError) {
        guard database.dialect == .postgres else { return }
        try compactHealthDeltas()
        let stale = try database.query(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND relname IN ('files', 'dirs', 'blocks', 'replicas', 'garbage', 'nodes')
                AND n_mod_since_analyze > 200 + n_live_tup / 5
            """
        ) { $0.text(0) }
        for table in stale where ["files", "dirs", "blocks", "replicas", "garbage", "nodes"].contains(table) {
            try database.execute("ANALYZE \(table)")
        }
    }

    /// PostgreSQL keeps the totals as changes to add up (``PostgresMetaSchema``): folds them
    /// into one row once there are more than `threshold`. Nothing to do with SQLite.
    public func compactHealthDeltas(threshold: Int = 1000) throws(DFSError) {
        guard database.dialect == .postgres else { return }
        let rows = try database.query("SELECT count(*) FROM health_deltas") { $0.int(0) }.first ?? 0
        if rows > threshold { try database.run(PostgresMetaSchema.compactDeltas) }
    }

    /// Registered nodes whose replicas count as live in the kept health.
    public func countedNodes() throws(DFSError) -> Set<NodeID> {
        Set(try database.query("SELECT id FROM nodes WHERE counted = 1") { NodeID($0.text(0)) })
    }

    /// Makes the replicas of exactly the registered nodes in `counted` count as live (with
    /// `keepingCounted`, nodes counted now stay counted: only additions). Each node that
    /// changes updates the blocks it holds replicas of, in one statement (the trigger
    /// `nodes_health_counted`): rare, and as costly as the node's share of blocks. Returns the
    /// nodes that changed.
    @discardableResult
    public func setCountedNodes(_ counted: Set<NodeID>, keepingCounted: Bool = false) throws(DFSError) -> (
        added: [NodeID], removed: [NodeID]
    ) {
        let known = try database.query("SELECT id, counted FROM nodes ORDER BY id") { (NodeID($0.text(0)), $0.int(1) == 1) }
        let added = known.filter { !$0.1 && counted.contains($0.0) }.map(\.0)
        let removed = keepingCounted ? [] : known.filter { $0.1 && !counted.contains($0.0) }.map(\.0)
        guard !added.isEmpty || !removed.isEmpty else { return ([], []) }
        try database.transaction { () throws(DFSError) in
            for (node, value) in added.map({ ($0, 1) }) + removed.map({ ($0, 0) }) {
                try database.run("UPDATE nodes SET counted = ? WHERE id = ?", [.int(value), .text(node.rawValue)])
            }
        }
        return (added, removed)
    }

    /// Up to `limit` blocks the repair loop may act on (``BlockAttention/repairable``), most
    /// urgent class first; within a class, in id order from after where the last pass
    /// stopped (`cursor`), so that blocks the loop cannot help yet (no room for a copy) do
    /// not hide the others. Returns the blocks, in that order, and where the next pass goes
    /// on: a class read to its end starts again from its beginning. Replicas on `live` nodes
    /// count as live (the store's counted nodes, so the classes and the details agree).
    public func blocksNeedingRepair(
        after cursor: [BlockAttention: BlockID], limit: Int, live: Set<NodeID>
    ) throws(DFSError) -> (blocks: [BlockHealth], cursor: [BlockAttention: BlockID]) {
        var next = cursor
        var ids: [Int64] = []
        for attention in BlockAttention.repairable where ids.count < limit {
            let wanted = limit - ids.count
            let start = cursor[attention].flatMap(Self.rowID) ?? 0
            let taken = try database.query(
                "SELECT id FROM blocks WHERE attention = ? AND id > ? ORDER BY id LIMIT ?",
                [.int(attention.rawValue), .integer(start), .int(wanted)]
            ) { $0.int64(0) }
            ids += taken
            next[attention] = taken.count < wanted ? nil : taken.last.map { BlockID(UInt64($0)) }
        }
        let details = Dictionary(
            try blockHealth(ids, live: live).map { ($0.blockID, $0) }, uniquingKeysWith: { first, _ in first })
        return (ids.compactMap { details[BlockID(UInt64($0))] }, next)
    }

    /// The health of those of `blockIDs` that belong to complete files and need a look
    /// (``BlockHealth/isNoteworthy``); the others are whole, or gone.
    public func noteworthyBlocks(_ blockIDs: [BlockID], live: Set<NodeID>) throws(DFSError) -> [BlockHealth] {
        try blockHealth(blockIDs.compactMap(Self.rowID), live: live).filter(\.isNoteworthy)
    }

    /// The files with a problem block (``BlockAttention/problems``), at most `limit` of them,
    /// found through the index: `fsck /` lists these without reading every block.
    public func filesWithProblems(limit: Int) throws(DFSError) -> [Int64] {
        try database.query(
            "SELECT DISTINCT file_id FROM blocks WHERE attention IN (0, 1, 3, 4) LIMIT ?", [.int(limit)]
        ) { $0.int64(0) }
    }

    /// The problem blocks (``BlockHealth/kind`` not nil) of the complete files `fileIDs`.
    public func problemBlocks(ofFiles fileIDs: [Int64], live: Set<NodeID>) throws(DFSError) -> [BlockHealth] {
        guard !fileIDs.isEmpty else { return [] }
        return try blockHealth(
            where: "files.complete = 1 AND " + database.dialect.column("files.id", inJSONList: "?"), [.text(Self.jsonList(fileIDs))],
            live: live, keeping: { $0.kind != nil })
    }

    /// The health of the blocks of complete files among `ids`.
    private func blockHealth(_ ids: [Int64], live: Set<NodeID>) throws(DFSError) -> [BlockHealth] {
        guard !ids.isEmpty else { return [] }
        return try blockHealth(
            where: "files.complete = 1 AND " + database.dialect.column("blocks.id", inJSONList: "?"), [.text(Self.jsonList(ids))],
            live: live)
    }

    /// A JSON array of ids: one bound value, so one prepared statement serves any count.
    private static func jsonList(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// Every block the index holds, with its class: what the tests compare with
    /// ``BlockHealth/attention`` of a scan. Reads the whole index.
    func attentionOfIndexedBlocks() throws(DFSError) -> [BlockID: BlockAttention] {
        Dictionary(
            try database.query("SELECT id, attention FROM blocks WHERE attention IS NOT NULL") {
                (BlockID(UInt64($0.int64(0))), BlockAttention(rawValue: $0.int(1)))
            }.compactMap { id, attention in attention.map { (id, $0) } },
            uniquingKeysWith: { first, _ in first })
    }

    /// The totals and the blocks needing a look under `path`, found by reading every block
    /// there: what `fsck` of a folder reports, and what the tests hold the kept totals to.
    func scannedTotals(live: Set<NodeID>, under path: DFSPath = .root) throws(DFSError) -> (
        totals: HealthTotals, unhealthy: [BlockHealth]
    ) {
        let counts = try counts(under: path)
        let unhealthy = try unhealthyBlocks(live: live, under: path)
        let totals = HealthTotals(
            files: counts.files, blocks: counts.blocks, bytes: counts.bytes,
            underReplicated: unhealthy.count { $0.kind == .underReplicated },
            missing: unhealthy.count { $0.kind == .missing },
            corrupt: unhealthy.count { $0.kind == .corrupt },
            corruptReplicas: unhealthy.reduce(0) { $0 + $1.corrupt.count },
            suspectReplicas: unhealthy.reduce(0) { $0 + $1.suspect.count })
        return (totals, unhealthy)
    }
}
