import DFSCore

/// Writing files: pending files, their blocks, and completing or abandoning them.
extension MetaStore {
    /// Starts a pending file, invisible until ``completeFile(fileID:size:blocks:now:)``.
    public func createFile(path: DFSPath, replication: Int, blockBytes: Int, overwrite: Bool, now: Double) throws(DFSError) -> Int64 {
        try database.transaction { () throws(DFSError) -> Int64 in
            try insertPendingFile(path: path, replication: replication, blockBytes: blockBytes, overwrite: overwrite, now: now)
        }
    }

    /// Starts a pending file and allocates its block 0, in one transaction: the whole meta
    /// side of writing a file that fits in one block, but for ``completeFile(fileID:size:sha256:blocks:now:)``.
    public func createFileWithFirstBlock(
        path: DFSPath, replication: Int, blockBytes: Int, overwrite: Bool, now: Double
    ) throws(DFSError) -> (fileID: Int64, blockID: BlockID) {
        try database.transaction { () throws(DFSError) -> (fileID: Int64, blockID: BlockID) in
            let fileID = try insertPendingFile(path: path, replication: replication, blockBytes: blockBytes, overwrite: overwrite, now: now)
            return (fileID, try insertBlock(fileID: fileID, blockIndex: 0))
        }
    }

    /// Starts the pending files of a batch, each with its block 0 unless it is empty, in one
    /// transaction. A file that cannot be created (it exists and `overwrite` is false, a folder
    /// is in the way) fails alone; the others are created.
    public func createFiles(
        _ files: [NewFile], replication: Int, blockBytes: Int, overwrite: Bool, now: Double
    ) throws(DFSError) -> [Result<(fileID: Int64, blockID: BlockID?), DFSError>] {
        try database.transaction { () throws(DFSError) -> [Result<(fileID: Int64, blockID: BlockID?), DFSError>] in
            // PostgreSQL: the batch as sets (one attempt, undone if it fails), else file by file.
            if database.dialect == .postgres,
                let results = try? database.savepoint({ () throws(DFSError) in
                    try createFilesAsSets(files, replication: replication, blockBytes: blockBytes, overwrite: overwrite, now: now)
                }) ?? nil
            {
                return results
            }
            var results: [Result<(fileID: Int64, blockID: BlockID?), DFSError>] = []
            for file in files {
                do {
                    let created = try database.savepoint { () throws(DFSError) -> (fileID: Int64, blockID: BlockID?) in
                        let fileID = try insertPendingFile(
                            path: file.path, replication: replication, blockBytes: blockBytes, overwrite: overwrite, now: now,
                            attributes: (file.mode, file.uid, file.gid))
                        return (fileID, file.size > 0 ? try insertBlock(fileID: fileID, blockIndex: 0) : nil)
                    }
                    results.append(.success(created))
                } catch {
                    results.append(.failure(DFSError.wrap(error)))
                }
            }
            return results
        }
    }

    /// Inside a transaction the caller began. A file created with `attributes` keeps them
    /// when it completes; one without takes those of the version it replaces.
    func insertPendingFile(
        path: DFSPath, replication: Int, blockBytes: Int, overwrite: Bool, now: Double,
        attributes: (mode: Int?, uid: Int?, gid: Int?) = (nil, nil, nil)
    ) throws(DFSError) -> Int64 {
        guard !path.isRoot else { throw DFSError(.invalidPath, "/ is the root folder, not a file path") }
        try path.validateForCreation()
        try checkFileCanGo(at: path)
        if !overwrite, try completeFileID(path) != nil {
            throw DFSError(.alreadyExists, "\(path) already exists")
        }
        return try database.insertReturningID(
            """
            INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created, mode, uid, gid)
            VALUES(?, ?, ?, 0, ?, ?, ?, 0, ?, ?, ?, ?)
            """,
            [
                .text(path.string), .text(path.parent!.string), .text(path.name), .real(now), .int(replication),
                .int(blockBytes), .real(now), attributes.mode.map { .int($0) } ?? .null, attributes.uid.map { .int($0) } ?? .null,
                attributes.gid.map { .int($0) } ?? .null,
            ])
    }

    private func insertBlock(fileID: Int64, blockIndex: Int) throws(DFSError) -> BlockID {
        let id = try database.insertReturningID("INSERT INTO blocks(file_id, block_index, length) VALUES(?, ?, 0)", [.integer(fileID), .int(blockIndex)])
        return BlockID(UInt64(id))
    }

    /// A file may go at `path` when no folder is there and no file is at any folder above it.
    private func checkFileCanGo(at path: DFSPath) throws(DFSError) {
        if try isFolder(path) {
            throw DFSError(.isADirectory, "\(path) is a folder")
        }
        for ancestor in path.ancestors where try completeFileID(ancestor) != nil {
            throw DFSError(.notADirectory, "\(ancestor) is a file, so \(path) cannot be created under it")
        }
    }

    /// The replication and block size a pending file was created with.
    public func pendingFileLayout(fileID: Int64) throws(DFSError) -> (replication: Int, blockBytes: Int) {
        guard
            let layout = try database.query(
                "SELECT replication, block_bytes FROM files WHERE id = ? AND complete = 0", [.integer(fileID)],
                row: { ($0.int(0), $0.int(1)) }
            ).first
        else { throw DFSError(.notFound, "no pending file with id \(fileID); start the upload again") }
        return layout
    }

    /// Adds a block to a pending file and returns its new, never-reused id. With `now`, the
    /// file's lease restarts in the same transaction (one commit, one fsync).
    public func addBlock(fileID: Int64, blockIndex: Int, now: Double? = nil) throws(DFSError) -> BlockID {
        guard (0..<Limits.blocksPerFileMax).contains(blockIndex) else {
            throw DFSError(.invalidArgument, "block index \(blockIndex) is outside 0..<\(Limits.blocksPerFileMax)")
        }
        return try database.transaction { () throws(DFSError) -> BlockID in
            _ = try pendingFileLayout(fileID: fileID)
            let blockID = try insertBlock(fileID: fileID, blockIndex: blockIndex)
            if let now { try renewLease(fileID: fileID, now: now) }
            return blockID
        }
    }

    /// Makes a pending file visible with the blocks the client stored, in one transaction,
    /// replacing an older file of the same path.
    @discardableResult
    public func completeFile(
        fileID: Int64, size: Int, sha256: String? = nil, blocks: [CommittedBlock], etag: String? = nil, properties: [String: String]? = nil,
        now: Double
    ) throws(DFSError) -> FileInfo {
        try database.transaction { () throws(DFSError) -> FileInfo in
            let path = try completePendingFile(
                fileID: fileID, size: size, sha256: sha256, blocks: blocks, etag: etag, properties: properties, now: now)
            guard let (_, info) = try completeFile(path) else {
                throw DFSError(.internalError, "\(path) is not readable right after it was completed")
            }
            return info
        }
    }

    /// Completes the files of a batch in one transaction; each fails alone. The files are not
    /// read back (a tree copy has no use for their descriptions).
    public func completeFiles(_ files: [CompleteFile], now: Double) throws(DFSError) -> [Result<Void, DFSError>] {
        try database.transaction { () throws(DFSError) -> [Result<Void, DFSError>] in
            if database.dialect == .postgres,
                let results = try? database.savepoint({ () throws(DFSError) in try completeFilesAsSets(files, now: now) }) ?? nil
            {
                return results
            }
            var results: [Result<Void, DFSError>] = []
            for file in files {
                do {
                    try database.savepoint { () throws(DFSError) in
                        _ = try completePendingFile(
                            fileID: file.fileID, size: file.size, sha256: file.sha256, blocks: file.blocks, etag: file.etag,
                            properties: file.properties, now: now)
                    }
                    results.append(.success(()))
                } catch {
                    results.append(.failure(DFSError.wrap(error)))
                }
            }
            return results
        }
    }

    /// The inside of ``completeFile(fileID:size:sha256:blocks:now:)``, in a transaction begun
    /// by the caller. Returns the file's path.
    func completePendingFile(
        fileID: Int64, size: Int, sha256: String?, blocks: [CommittedBlock], etag: String? = nil, properties: [String: String]? = nil,
        now: Double
    ) throws(DFSError) -> DFSPath {
        try Self.checkSHA256(sha256)
        try FileInfo.checkETagAndProperties(etag: etag, properties: properties)
        guard
            let file = try database.query(
                "SELECT path, block_bytes FROM files WHERE id = ? AND complete = 0", [.integer(fileID)],
                row: { ($0.text(0), $0.int(1)) }
            ).first
        else { throw DFSError(.notFound, "no pending file with id \(fileID); start the upload again") }
        let path = try DFSPath(file.0)
        let blockBytes = file.1
        let owned = Set(try database.query("SELECT id FROM blocks WHERE file_id = ?", [.integer(fileID)]) { BlockID(UInt64($0.int64(0))) })
        let crc32c = try Self.checkBlocks(blocks, of: path, owned: owned, blockBytes: blockBytes, size: size)
        for block in blocks {
            try database.run(
                "UPDATE blocks SET length = ?, block_index = ?, checksum = ? WHERE id = ?",
                [
                    .int(block.length), .int(block.blockIndex), .integer(Int64(block.checksum)),
                    .integer(Int64(block.blockID.rawValue)),
                ])
            let id = Int64(block.blockID.rawValue)
            // Copies reported while the file was pending on nodes the client does not name
            // (a pipeline that failed after the node stored the block) are not vouched for.
            let named = Set(block.nodes)
            let reported = try database.query("SELECT node_id FROM replicas WHERE block_id = ?", [.integer(id)]) { NodeID($0.text(0)) }
            for node in reported where !named.contains(node) {
                try database.run("DELETE FROM replicas WHERE block_id = ? AND node_id = ?", [.integer(id), .text(node.rawValue)])
                try database.run(
                    "INSERT INTO garbage(block_id, node_id, since) VALUES(?, ?, ?) ON CONFLICT DO NOTHING", [.integer(id), .text(node.rawValue), .real(now)])
            }
            for node in named {
                try database.run("INSERT INTO replicas(block_id, node_id) VALUES(?, ?) ON CONFLICT DO NOTHING", [.integer(id), .text(node.rawValue)])
            }
        }
        // Blocks allocated but not kept (a retried block got a new id) belong to nobody.
        let kept = Set(blocks.map(\.blockID))
        for blockID in owned where !kept.contains(blockID) {
            try dropBlock(blockID, now: now)
        }
        try checkFileCanGo(at: path)
        if let older = try completeFileID(path) {
            // A new version keeps the permissions and owner the old one was given, as a file
            // written over in place keeps its inode's, except those it was created with.
            try database.run(
                """
                UPDATE files SET mode = coalesce(mode, (SELECT mode FROM files WHERE id = ?1)),
                    uid = coalesce(uid, (SELECT uid FROM files WHERE id = ?1)), gid = coalesce(gid, (SELECT gid FROM files WHERE id = ?1))
                WHERE id = ?2 AND (mode IS NULL OR uid IS NULL OR gid IS NULL)
                """, [.integer(older), .integer(fileID)])
            try dropFile(older, now: now)
        }
        for ancestor in path.ancestors {
            try database.run(
                "INSERT INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(ancestor.string), .text(ancestor.parent!.string), .text(ancestor.name), .real(now)])
        }
        try database.run(
            "UPDATE files SET complete = 1, size = ?, mtime = ?, sha256 = ?, crc32c = ?, etag = ?, properties = ? WHERE id = ?",
            [
                .int(size), .real(now), sha256.map { .text($0) } ?? .null, .integer(Int64(crc32c)), etag.map { .text($0) } ?? .null,
                Self.propertiesText(properties).map { .text($0) } ?? .null, .integer(fileID),
            ])
        return path
    }

    /// Drops a pending file the client gave up on.
    public func abandonFile(fileID: Int64, now: Double) throws(DFSError) {
        try database.transaction { () throws(DFSError) in
            guard let complete = try database.query("SELECT complete FROM files WHERE id = ?", [.integer(fileID)], row: { $0.int(0) }).first
            else { return }
            guard complete == 0 else {
                throw DFSError(.invalidArgument, "file \(fileID) is complete; remove it instead")
            }
            try dropFile(fileID, now: now)
        }
    }

    /// Deletes a file's row and blocks; their replicas go to `garbage` for the nodes to delete.
    func dropFile(_ fileID: Int64, now: Double) throws(DFSError) {
        try database.run(
            """
            INSERT INTO garbage(block_id, node_id, since)
            SELECT replicas.block_id, replicas.node_id, ? FROM replicas JOIN blocks ON blocks.id = replicas.block_id
            WHERE blocks.file_id = ?
            ON CONFLICT DO NOTHING
            """, [.real(now), .integer(fileID)])
        try database.run("DELETE FROM files WHERE id = ?", [.integer(fileID)])
    }

    private func dropBlock(_ blockID: BlockID, now: Double) throws(DFSError) {
        let id = Int64(blockID.rawValue)
        try database.run(
            "INSERT INTO garbage(block_id, node_id, since) SELECT block_id, node_id, ? FROM replicas WHERE block_id = ? ON CONFLICT DO NOTHING",
            [.real(now), .integer(id)])
        try database.run("DELETE FROM blocks WHERE id = ?", [.integer(id)])
    }

    /// A SHA-256 as a client sends it: 64 lower-case hex digits.
    static func checkSHA256(_ sha256: String?) throws(DFSError) {
        if let sha256, sha256.utf8.count != 64 || !sha256.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            throw DFSError(.invalidArgument, "SHA-256 '\(sha256.prefix(Limits.quotedCharactersMax))' is not 64 lower-case hex digits")
        }
    }

    /// Checks the blocks a client completes a file with against the blocks allocated to it
    /// (`owned`), the file's block size and its size; returns the whole file's CRC32C.
    static func checkBlocks(_ blocks: [CommittedBlock], of path: DFSPath, owned: Set<BlockID>, blockBytes: Int, size: Int) throws(DFSError) -> UInt32 {
        var total = 0
        var wholeFile = CRC32C()
        for (position, block) in blocks.enumerated() {
            guard block.blockIndex == position else {
                throw DFSError(.invalidArgument, "block \(position) of \(path) is missing (got index \(block.blockIndex))")
            }
            guard owned.contains(block.blockID) else {
                throw DFSError(.invalidArgument, "block \(block.blockID) does not belong to \(path)")
            }
            guard (1...blockBytes).contains(block.length) else {
                throw DFSError(.invalidArgument, "block \(position) of \(path) has length \(block.length); it must be 1 to \(blockBytes)")
            }
            guard !block.nodes.isEmpty else {
                throw DFSError(.invalidArgument, "block \(position) of \(path) is stored on no node")
            }
            total += block.length
            wholeFile.append(checksum: block.checksum, length: block.length)
        }
        guard total == size else {
            throw DFSError(.invalidArgument, "the blocks of \(path) hold \(total) bytes, not \(size)")
        }
        return wholeFile.value
    }
}
