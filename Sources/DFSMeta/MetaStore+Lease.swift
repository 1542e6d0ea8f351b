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
}
