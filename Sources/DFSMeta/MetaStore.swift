import DFSCore
import DFSNet
import Foundation

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

/// The namespace, the node registry and block locations, in SQLite.
///
/// An actor on its own queue: SQLite calls block (fsync on commit), and must not hold one
/// of the cooperative pool's few threads. Every namespace change is one transaction.
public actor MetaStore {
    private let executor = QueueExecutor(label: "dfs.meta-store")
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let database: SQLiteDatabase

    /// Opens the database at `path` (":memory:" for tests), creating and migrating it.
    public init(path: String) throws(DFSError) {
        let database = try SQLiteDatabase(path: path)
        do {
            // A file that is not a database fails at its first statement; say so plainly.
            _ = try database.query("SELECT count(*) FROM sqlite_master") { $0.int(0) }
        } catch {
            throw DFSError(.ioError, "\(path) is not a dfs database (\(error.message))")
        }
        if path != ":memory:" {
            _ = try database.query("PRAGMA journal_mode=WAL") { $0.text(0) }
        }
        // NORMAL: commits append to the log without an fsync; `sync` makes them durable,
        // many at a time, before any reply tells a client about them.
        try database.execute("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000")
        try MetaSchema.migrate(database)
        if path != ":memory:" {
            let sync = CommitSync(databasePath: path)
            database.onCommit = { sync.noteCommit() }
            // Opening may have migrated the schema; the first reply makes that durable too.
            sync.noteCommit()
            self.sync = sync
        } else {
            sync = nil
        }
        self.database = database
    }

    /// Group commit; nil for a database in memory.
    nonisolated let sync: CommitSync?

    /// Returns once every change committed so far is on disk. The server calls it before
    /// each reply, so nothing a client is told can be lost to a crash.
    public nonisolated func waitUntilDurable() async throws {
        try await sync?.waitUntilDurable()
    }

    /// True when nothing committed is waiting for the disk: a reply may go at once.
    public nonisolated var isDurable: Bool { sync?.isCaughtUp ?? true }

    public var schemaVersion: Int {
        get throws(DFSError) { try database.query("PRAGMA user_version") { $0.int(0) }.first ?? 0 }
    }

    // MARK: Nodes

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

    // MARK: Writing files

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
            var results: [Result<(fileID: Int64, blockID: BlockID?), DFSError>] = []
            for file in files {
                do {
                    let created = try database.savepoint { () throws(DFSError) -> (fileID: Int64, blockID: BlockID?) in
                        let fileID = try insertPendingFile(path: file.path, replication: replication, blockBytes: blockBytes, overwrite: overwrite, now: now)
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

    private func insertPendingFile(path: DFSPath, replication: Int, blockBytes: Int, overwrite: Bool, now: Double) throws(DFSError) -> Int64 {
        guard !path.isRoot else { throw DFSError(.invalidPath, "/ is the root folder, not a file path") }
        try path.validateForCreation()
        try checkFileCanGo(at: path)
        if !overwrite, try completeFileID(path) != nil {
            throw DFSError(.alreadyExists, "\(path) already exists")
        }
        try database.run(
            """
            INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created)
            VALUES(?, ?, ?, 0, ?, ?, ?, 0, ?)
            """,
            [
                .text(path.string), .text(path.parent!.string), .text(path.name), .real(now), .int(replication),
                .int(blockBytes), .real(now),
            ])
        return database.lastInsertedRowID
    }

    private func insertBlock(fileID: Int64, blockIndex: Int) throws(DFSError) -> BlockID {
        try database.run("INSERT INTO blocks(file_id, block_index, length) VALUES(?, ?, 0)", [.integer(fileID), .int(blockIndex)])
        return BlockID(UInt64(database.lastInsertedRowID))
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
    public func completeFile(fileID: Int64, size: Int, sha256: String? = nil, blocks: [CommittedBlock], now: Double) throws(DFSError) -> FileInfo {
        try database.transaction { () throws(DFSError) -> FileInfo in
            let path = try completePendingFile(fileID: fileID, size: size, sha256: sha256, blocks: blocks, now: now)
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
            var results: [Result<Void, DFSError>] = []
            for file in files {
                do {
                    try database.savepoint { () throws(DFSError) in
                        _ = try completePendingFile(fileID: file.fileID, size: file.size, sha256: file.sha256, blocks: file.blocks, now: now)
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
    private func completePendingFile(
        fileID: Int64, size: Int, sha256: String?, blocks: [CommittedBlock], now: Double
    ) throws(DFSError) -> DFSPath {
        if let sha256, sha256.utf8.count != 64 || !sha256.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            throw DFSError(.invalidArgument, "SHA-256 '\(sha256.prefix(80))' is not 64 lower-case hex digits")
        }
        guard
            let file = try database.query(
                "SELECT path, block_bytes FROM files WHERE id = ? AND complete = 0", [.integer(fileID)],
                row: { ($0.text(0), $0.int(1)) }
            ).first
        else { throw DFSError(.notFound, "no pending file with id \(fileID); start the upload again") }
        let path = try DFSPath(file.0)
        let blockBytes = file.1
        let owned = Set(try database.query("SELECT id FROM blocks WHERE file_id = ?", [.integer(fileID)]) { BlockID(UInt64($0.int64(0))) })
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
                try database.run("INSERT OR IGNORE INTO garbage(block_id, node_id, since) VALUES(?, ?, ?)", [.integer(id), .text(node.rawValue), .real(now)])
            }
            for node in named {
                try database.run("INSERT OR IGNORE INTO replicas(block_id, node_id) VALUES(?, ?)", [.integer(id), .text(node.rawValue)])
            }
        }
        // Blocks allocated but not kept (a retried block got a new id) belong to nobody.
        let kept = Set(blocks.map(\.blockID))
        for blockID in owned where !kept.contains(blockID) {
            try dropBlock(blockID, now: now)
        }
        try checkFileCanGo(at: path)
        if let older = try completeFileID(path) {
            try dropFile(older, now: now)
        }
        for ancestor in path.ancestors {
            try database.run(
                "INSERT OR IGNORE INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, ?)",
                [.text(ancestor.string), .text(ancestor.parent!.string), .text(ancestor.name), .real(now)])
        }
        try database.run(
            "UPDATE files SET complete = 1, size = ?, mtime = ?, sha256 = ?, crc32c = ? WHERE id = ?",
            [.int(size), .real(now), sha256.map { .text($0) } ?? .null, .integer(Int64(wholeFile.value)), .integer(fileID)])
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
            INSERT OR IGNORE INTO garbage(block_id, node_id, since)
            SELECT replicas.block_id, replicas.node_id, ? FROM replicas JOIN blocks ON blocks.id = replicas.block_id
            WHERE blocks.file_id = ?
            """, [.real(now), .integer(fileID)])
        try database.run("DELETE FROM files WHERE id = ?", [.integer(fileID)])
    }

    private func dropBlock(_ blockID: BlockID, now: Double) throws(DFSError) {
        let id = Int64(blockID.rawValue)
        try database.run(
            "INSERT OR IGNORE INTO garbage(block_id, node_id, since) SELECT block_id, node_id, ? FROM replicas WHERE block_id = ?",
            [.real(now), .integer(id)])
        try database.run("DELETE FROM blocks WHERE id = ?", [.integer(id)])
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

    // MARK: Reading the namespace

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

    private func completeFile(_ path: DFSPath) throws(DFSError) -> (Int64, FileInfo)? {
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
