import DFSCore

/// Reading the namespace: files with their block locations, folder listings, counts.
extension MetaStore {
    func completeFileID(_ path: DFSPath) throws(DFSError) -> Int64? {
        try database.query("SELECT id FROM files WHERE path = ? AND complete = 1", [.text(path.string)]) { $0.int64(0) }.first
    }

    func isFolder(_ path: DFSPath) throws(DFSError) -> Bool {
        if path.isRoot { return true }
        return try !database.query("SELECT 1 FROM dirs WHERE path = ?", [.text(path.string)]) { $0.int(0) }.isEmpty
    }

    private static let fileColumns = "id, path, size, mtime, replication, block_bytes, sha256, crc32c"

    private static func fileInfo(_ row: SQLiteStatement) -> (Int64, FileInfo)? {
        guard let path = try? DFSPath(row.text(1)) else { return nil }
        return (
            row.int64(0),
            FileInfo(
                path: path, type: .file, size: row.int(2), mtime: row.double(3),
                replication: row.int(4), blockBytes: row.int(5),
                sha256: row.isNull(6) ? nil : row.text(6),
                crc32c: row.isNull(7) ? nil : UInt32(truncatingIfNeeded: row.int64(7)))
        )
    }

    private func folderInfo(_ path: DFSPath) throws(DFSError) -> FileInfo? {
        if path.isRoot { return FileInfo(path: .root, type: .dir, size: 0, mtime: 0, replication: 0, blockBytes: 0) }
        return try database.query("SELECT mtime FROM dirs WHERE path = ?", [.text(path.string)]) {
            FileInfo(path: path, type: .dir, size: 0, mtime: $0.double(0), replication: 0, blockBytes: 0)
        }.first
    }

    /// The complete file at `path`, with its id (pending files are invisible).
    func completeFile(_ path: DFSPath) throws(DFSError) -> (Int64, FileInfo)? {
        try database.query("SELECT \(Self.fileColumns) FROM files WHERE path = ? AND complete = 1", [.text(path.string)], row: Self.fileInfo)
            .first ?? nil
    }

    /// A file with its blocks and their locations, or a folder. Pending files are invisible.
    /// Replicas confirmed corrupt are left out; suspect ones come after the others.
    public func getFile(path: DFSPath) throws(DFSError) -> (info: FileInfo, blocks: [BlockLocation]) {
        if let folder = try folderInfo(path) { return (folder, []) }
        guard let (fileID, info) = try completeFile(path) else {
            throw DFSError(.notFound, "no such file or folder: \(path)")
        }
        var blocks: [BlockLocation] = []
        var byID: [BlockID: Int] = [:]
        for (blockID, index, length, checksum) in try database.query(
            "SELECT id, block_index, length, checksum FROM blocks WHERE file_id = ? ORDER BY block_index", [.integer(fileID)],
            row: { (BlockID(UInt64($0.int64(0))), $0.int(1), $0.int(2), UInt32(truncatingIfNeeded: $0.int64(3))) })
        {
            byID[blockID] = blocks.count
            blocks.append(BlockLocation(blockID: blockID, blockIndex: index, length: length, checksum: checksum, replicas: []))
        }
        let replicas = try database.query(
            """
            SELECT replicas.block_id, nodes.id, nodes.host, nodes.port FROM blocks
            JOIN replicas ON replicas.block_id = blocks.id JOIN nodes ON nodes.id = replicas.node_id
            WHERE blocks.file_id = ? AND replicas.corrupt = 0
            ORDER BY replicas.block_id, replicas.suspect IS NOT NULL, nodes.id
            """, [.integer(fileID)]
        ) { row in
            (BlockID(UInt64(row.int64(0))), NodeAddress(nodeID: NodeID(row.text(1)), address: Endpoint(host: row.text(2), port: row.int(3))))
        }
        for (blockID, address) in replicas {
            if let position = byID[blockID] { blocks[position].replicas.append(address) }
        }
        return (info, blocks)
    }

    /// One page of a folder's entries in name order, folders and files merged; or the file
    /// itself when `path` is a file.
    public func list(path: DFSPath, after: String?, limit: Int) throws(DFSError) -> ListOK {
        if let (_, file) = try completeFile(path) {
            return ListOK(info: file, entries: [file], more: false)
        }
        guard let folder = try folderInfo(path) else {
            throw DFSError(.notFound, "no such file or folder: \(path)")
        }
        let pageSize = min(max(limit, 1), Limits.listEntriesMax)
        var after = after ?? ""
        // A row that is not what its `parent` column says (fsck names it: `pathProblems`) is
        // left out, not listed under a path it does not have. A page of nothing but such rows
        // is passed over, so that `more` never promises entries a reader cannot reach.
        while true {
            // One more than the page, from each table, tells whether more entries follow.
            let values: [SQLiteValue] = [.text(path.string), .text(after), .int(pageSize + 1)]
            let folders = try database.query(
                "SELECT name, mtime, path FROM dirs WHERE parent = ? AND name > ? ORDER BY name LIMIT ?", values
            ) { row -> (name: String, entry: FileInfo?) in
                let name = row.text(0)
                guard let child = try? path.appending(name), child.string.utf8.elementsEqual(row.text(2).utf8) else { return (name, nil) }
                return (name, FileInfo(path: child, type: .dir, size: 0, mtime: row.double(1), replication: 0, blockBytes: 0))
            }
            let files = try database.query(
                "SELECT \(Self.fileColumns), name FROM files WHERE parent = ? AND name > ? AND complete = 1 ORDER BY name LIMIT ?", values
            ) { row -> (name: String, entry: FileInfo?) in
                let name = row.text(8)
                guard let (_, info) = Self.fileInfo(row), info.path.parent == path, info.path.name.utf8.elementsEqual(name.utf8) else {
                    return (name, nil)
                }
                return (name, info)
            }
            let merged = (folders + files).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            let page = merged.prefix(pageSize)
            let more = merged.count > pageSize
            let entries = page.compactMap(\.entry)
            if entries.isEmpty, more, let last = page.last {
                after = last.name
                continue
            }
            return ListOK(info: folder, entries: entries, more: more)
        }
    }

    /// Files whose upload has not completed.
    public func pendingFileCount() throws(DFSError) -> Int {
        try database.query("SELECT count(*) FROM files WHERE complete = 0") { $0.int(0) }.first ?? 0
    }

    /// Complete files, their blocks and bytes.
    public func counts() throws(DFSError) -> (files: Int, blocks: Int, bytes: Int) {
        let files = try database.query("SELECT count(*), coalesce(sum(size), 0) FROM files WHERE complete = 1") { ($0.int(0), $0.int(1)) }.first ?? (0, 0)
        let blocks =
            try database.query(
                "SELECT count(*) FROM blocks JOIN files ON files.id = blocks.file_id WHERE files.complete = 1"
            ) { $0.int(0) }.first ?? 0
        return (files.0, blocks, files.1)
    }
}
