import DFSCore

extension MetaStore {
    /// Restarts the lease of each pending file named, in one transaction; returns the ids
    /// that name no pending file. The lease's start is the file's `created` column.
    public func renewLeases(fileIDs: [Int64], now: Double) throws(DFSError) -> [Int64] {
        guard !fileIDs.isEmpty else { return [] }
        return try database.transaction { () throws(DFSError) -> [Int64] in
            var unknown: [Int64] = []
            for fileID in fileIDs {
                let changed = try database.run(
                    "UPDATE files SET created = ? WHERE id = ? AND complete = 0", [.real(now), .integer(fileID)])
                if changed == 0 { unknown.append(fileID) }
            }
            return unknown
        }
    }

    /// Restarts a pending file's lease: an upload that keeps allocating blocks is alive,
    /// however long the whole file takes. (`created` holds the lease's start.)
    func renewLease(fileID: Int64, now: Double) throws(DFSError) {
        try database.run("UPDATE files SET created = ? WHERE id = ? AND complete = 0", [.real(now), .integer(fileID)])
    }

    /// Abandons pending files created before `createdBefore`: their uploads died or gave up.
    /// Returns how many were dropped.
    @discardableResult
    public func expirePendingFiles(createdBefore: Double, now: Double) throws(DFSError) -> Int {
        try database.transaction { () throws(DFSError) -> Int in
            let stale = try database.query("SELECT id FROM files WHERE complete = 0 AND created < ?", [.real(createdBefore)]) { $0.int64(0) }
            for fileID in stale { try dropFile(fileID, now: now) }
            return stale.count
        }
    }
}
