import DFSCore

/// The batches of a tree copy (`createFiles`, `completeFiles`) in PostgreSQL, set by set.
///
/// With SQLite a statement costs microseconds and each file of a batch takes its turn. With
/// PostgreSQL each statement is a round trip to another process, about 100 µs on one machine
/// and more across a network, and a file takes some twenty: a batch of a hundred files would
/// wait on two thousand of them. Here each step of a batch is one statement over arrays
/// (`unnest`), so a batch costs about a dozen round trips whatever its size.
///
/// The outcome is the per-file one's: every check runs in Swift on what the batch's reads
/// found, in the same order, and a file that fails fails alone. What the checks cannot
/// decide alone — files of one batch that meet (one path twice, or a path under another's)
/// — and any statement that fails send the whole batch back to the per-file path, in a
/// savepoint that undoes what the set-based attempt did.
extension MetaStore {
    /// ``createFiles(_:replication:blockBytes:overwrite:now:)`` for PostgreSQL; nil when the
    /// batch must go file by file.
    func createFilesAsSets(
        _ files: [NewFile], replication: Int, blockBytes: Int, overwrite: Bool, now: Double
    ) throws(DFSError) -> [Result<(fileID: Int64, blockID: BlockID?), DFSError>]? {
        guard Self.batchPathsAreApart(files.map(\.path)) else { return nil }
        var results: [Result<(fileID: Int64, blockID: BlockID?), DFSError>?] = Array(repeating: nil, count: files.count)
        var candidates: [Int] = []
        for (index, file) in files.enumerated() {
            do throws(DFSError) {
                guard !file.path.isRoot else { throw DFSError(.invalidPath, "/ is the root folder, not a file path") }
                try file.path.validateForCreation()
                candidates.append(index)
            } catch {
                results[index] = .failure(error)
            }
        }
        let paths = candidates.map { files[$0].path }
        let folders = try existingFolders(paths)
        let complete = try completeFiles(paths + paths.flatMap(\.ancestors)).paths
        var accepted: [Int] = []
        for index in candidates {
            let path = files[index].path
            if let failure = Self.placementFailure(of: path, folders: folders, completeFiles: complete) {
                results[index] = .failure(failure)
            } else if !overwrite && complete.contains(PathKey(path)) {
                results[index] = .failure(DFSError(.alreadyExists, "\(path) already exists"))
            } else {
                accepted.append(index)
            }
        }
        let made = try { () throws(DFSError) -> [(fileID: Int64, blockID: BlockID?)] in
            guard !accepted.isEmpty else { return [] }
            let ids = try database.query(
                """
                INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created, mode, uid, gid)
                SELECT path, parent, name, 0, ?4, ?5, ?6, 0, ?4, mode, uid, gid
                FROM unnest(?1::text[], ?2::text[], ?3::text[], ?7::bigint[], ?8::bigint[], ?9::bigint[])
                    WITH ORDINALITY AS batch(path, parent, name, mode, uid, gid, position)
                ORDER BY position RETURNING id
                """,
                [
                    .text(Self.arrayLiteral(accepted.map { files[$0].path.string })),
                    .text(Self.arrayLiteral(accepted.map { files[$0].path.parent!.string })),
                    .text(Self.arrayLiteral(accepted.map { files[$0].path.name })), .real(now), .int(replication), .int(blockBytes),
                    .text(Self.arrayLiteral(accepted.map { files[$0].mode.map(String.init) })),
                    .text(Self.arrayLiteral(accepted.map { files[$0].uid.map(String.init) })),
                    .text(Self.arrayLiteral(accepted.map { files[$0].gid.map(String.init) })),
                ]
            ) { $0.int64(0) }.sorted()
            guard ids.count == accepted.count else {
                throw DFSError(.internalError, "database \(database.path): \(ids.count) files inserted for \(accepted.count)")
            }
            let withBlocks = zip(accepted, ids).filter { files[$0.0].size > 0 }.map(\.1)
            var blocks: [Int64: BlockID] = [:]
            if !withBlocks.isEmpty {
                for (fileID, blockID) in try database.query(
                    "INSERT INTO blocks(file_id, block_index, length) SELECT unnest(?1::bigint[]), 0, 0 RETURNING file_id, id",
                    [.text(Self.arrayLiteral(withBlocks))], row: { ($0.int64(0), $0.int64(1)) })
                {
                    blocks[fileID] = BlockID(UInt64(blockID))
                }
            }
            return ids.map { ($0, blocks[$0]) }
        }()
        for (index, created) in zip(accepted, made) { results[index] = .success(created) }
        return results.map { $0! }
    }

    /// ``completeFiles(_:now:)`` for PostgreSQL; nil when the batch must go file by file.
    func completeFilesAsSets(_ files: [CompleteFile], now: Double) throws(DFSError) -> [Result<Void, DFSError>]? {
        var results: [Result<Void, DFSError>?] = Array(repeating: nil, count: files.count)
        let fileIDs = files.map(\.fileID)
        guard Set(fileIDs).count == fileIDs.count else { return nil }
        let pending = Dictionary(
            try database.query(
                "SELECT id, path, block_bytes FROM files WHERE id = ANY(?1::bigint[]) AND complete = 0", [.text(Self.arrayLiteral(fileIDs))]
            ) { ($0.int64(0), ($0.text(1), $0.int(2))) }, uniquingKeysWith: { first, _ in first })
        var owned: [Int64: Set<BlockID>] = [:]
        for (fileID, blockID) in try database.query(
            "SELECT file_id, id FROM blocks WHERE file_id = ANY(?1::bigint[])", [.text(Self.arrayLiteral(Array(pending.keys)))],
            row: { ($0.int64(0), BlockID(UInt64($0.int64(1)))) })
        {
            owned[fileID, default: []].insert(blockID)
        }

        // Each file's own checks, as `completePendingFile` makes them.
        var checked: [(index: Int, path: DFSPath, crc32c: UInt32)] = []
        for (index, file) in files.enumerated() {
            do throws(DFSError) {
                try Self.checkSHA256(file.sha256)
                try FileInfo.checkETagAndProperties(etag: file.etag, properties: file.properties)
                guard let (text, blockBytes) = pending[file.fileID] else {
                    throw DFSError(.notFound, "no pending file with id \(file.fileID); start the upload again")
                }
                let path = try DFSPath(text)
                let crc32c = try Self.checkBlocks(file.blocks, of: path, owned: owned[file.fileID] ?? [], blockBytes: blockBytes, size: file.size)
                checked.append((index, path, crc32c))
            } catch {
                results[index] = .failure(error)
            }
        }
        guard Self.batchPathsAreApart(checked.map(\.path)) else { return nil }
        let paths = checked.map(\.path)
        let folders = try existingFolders(paths)
        let complete = try completeFiles(paths + paths.flatMap(\.ancestors))
        var accepted: [(index: Int, path: DFSPath, crc32c: UInt32)] = []
        for entry in checked {
            if let failure = Self.placementFailure(of: entry.path, folders: folders, completeFiles: complete.paths) {
                results[entry.index] = .failure(failure)
            } else {
                accepted.append(entry)
            }
        }

        if !accepted.isEmpty {
            let blocks = accepted.flatMap { files[$0.index].blocks }
            let blockIDs = blocks.map { Int64($0.blockID.rawValue) }
            // Copies reported while a file was pending on nodes its writer does not name are
            // not vouched for: they go, as garbage.
            var reported: [Int64: [NodeID]] = [:]
            for (blockID, node) in try database.query(
                "SELECT block_id, node_id FROM replicas WHERE block_id = ANY(?1::bigint[])", [.text(Self.arrayLiteral(blockIDs))],
                row: { ($0.int64(0), NodeID($0.text(1))) })
            {
                reported[blockID, default: []].append(node)
            }
            var staleBlocks: [Int64] = []
            var staleNodes: [String] = []
            var newBlocks: [Int64] = []
            var newNodes: [String] = []
            for block in blocks {
                let id = Int64(block.blockID.rawValue)
                let named = Set(block.nodes)
                for node in reported[id] ?? [] where !named.contains(node) {
                    staleBlocks.append(id)
                    staleNodes.append(node.rawValue)
                }
                for node in named {
                    newBlocks.append(id)
                    newNodes.append(node.rawValue)
                }
            }
            try database.run(
                """
                UPDATE blocks SET length = batch.length, block_index = batch.block_index, checksum = batch.checksum
                FROM unnest(?1::bigint[], ?2::bigint[], ?3::integer[], ?4::bigint[]) AS batch(id, length, block_index, checksum)
                WHERE blocks.id = batch.id
                """,
                [
                    .text(Self.arrayLiteral(blockIDs)), .text(Self.arrayLiteral(blocks.map { Int64($0.length) })),
                    .text(Self.arrayLiteral(blocks.map { Int64($0.blockIndex) })), .text(Self.arrayLiteral(blocks.map { Int64($0.checksum) })),
                ])
            if !staleBlocks.isEmpty {
                let pairs: [SQLValue] = [.text(Self.arrayLiteral(staleBlocks)), .text(Self.arrayLiteral(staleNodes))]
                try database.run(
                    """
                    DELETE FROM replicas USING unnest(?1::bigint[], ?2::text[]) AS stale(block_id, node_id)
                    WHERE replicas.block_id = stale.block_id AND replicas.node_id = stale.node_id
                    """, pairs)
                try database.run(
                    """
                    INSERT INTO garbage(block_id, node_id, since) SELECT block_id, node_id, ?3 FROM unnest(?1::bigint[], ?2::text[]) AS stale(block_id, node_id)
                    ON CONFLICT DO NOTHING
                    """, pairs + [.real(now)])
            }
            try database.run(
                """
                INSERT INTO replicas(block_id, node_id) SELECT block_id, node_id FROM unnest(?1::bigint[], ?2::text[]) AS named(block_id, node_id)
                ON CONFLICT DO NOTHING
                """, [.text(Self.arrayLiteral(newBlocks)), .text(Self.arrayLiteral(newNodes))])
            // Blocks allocated but not kept (a retried block got a new id) belong to nobody.
            let kept = Set(blocks.map(\.blockID))
            let unkept = accepted.flatMap { owned[files[$0.index].fileID] ?? [] }.filter { !kept.contains($0) }.map { Int64($0.rawValue) }
            if !unkept.isEmpty {
                try database.run(
                    "INSERT INTO garbage(block_id, node_id, since) SELECT block_id, node_id, ?2 FROM replicas WHERE block_id = ANY(?1::bigint[]) ON CONFLICT DO NOTHING",
                    [.text(Self.arrayLiteral(unkept)), .real(now)])
                try database.run("DELETE FROM blocks WHERE id = ANY(?1::bigint[])", [.text(Self.arrayLiteral(unkept))])
            }
            // Older files of the same paths are replaced; the new versions keep their
            // permissions and owners.
            let replaced = accepted.compactMap { entry in complete.ids[PathKey(entry.path)].map { (older: $0, newer: files[entry.index].fileID) } }
            let older = replaced.map(\.older)
            if !older.isEmpty {
                try database.run(
                    """
                    UPDATE files SET mode = coalesce(files.mode, old.mode), uid = coalesce(files.uid, old.uid), gid = coalesce(files.gid, old.gid)
                    FROM unnest(?1::bigint[], ?2::bigint[]) AS pair(older, newer) JOIN files AS old ON old.id = pair.older
                    WHERE files.id = pair.newer AND (old.mode IS NOT NULL OR old.uid IS NOT NULL OR old.gid IS NOT NULL)
                    """, [.text(Self.arrayLiteral(older)), .text(Self.arrayLiteral(replaced.map(\.newer)))])
                try database.run(
                    """
                    INSERT INTO garbage(block_id, node_id, since)
                    SELECT replicas.block_id, replicas.node_id, ?2 FROM replicas JOIN blocks ON blocks.id = replicas.block_id
                    WHERE blocks.file_id = ANY(?1::bigint[])
                    ON CONFLICT DO NOTHING
                    """, [.text(Self.arrayLiteral(older)), .real(now)])
                try database.run("DELETE FROM files WHERE id = ANY(?1::bigint[])", [.text(Self.arrayLiteral(older))])
            }
            var folderRows: [PathKey: DFSPath] = [:]
            for entry in accepted { for ancestor in entry.path.ancestors { folderRows[PathKey(ancestor)] = ancestor } }
            if !folderRows.isEmpty {
                let ancestors = Array(folderRows.values)
                try database.run(
                    """
                    INSERT INTO dirs(path, parent, name, mtime) SELECT path, parent, name, ?4 FROM unnest(?1::text[], ?2::text[], ?3::text[]) AS made(path, parent, name)
                    ON CONFLICT DO NOTHING
                    """,
                    [
                        .text(Self.arrayLiteral(ancestors.map(\.string))), .text(Self.arrayLiteral(ancestors.map { $0.parent!.string })),
                        .text(Self.arrayLiteral(ancestors.map(\.name))), .real(now),
                    ])
            }
            try database.run(
                """
                UPDATE files SET complete = 1, size = batch.size, mtime = ?5, sha256 = batch.sha256, crc32c = batch.crc32c,
                    etag = batch.etag, properties = batch.properties
                FROM unnest(?1::bigint[], ?2::bigint[], ?3::text[], ?4::bigint[], ?6::text[], ?7::text[])
                    AS batch(id, size, sha256, crc32c, etag, properties)
                WHERE files.id = batch.id
                """,
                [
                    .text(Self.arrayLiteral(accepted.map { files[$0.index].fileID })),
                    .text(Self.arrayLiteral(accepted.map { Int64(files[$0.index].size) })),
                    .text(Self.arrayLiteral(accepted.map { files[$0.index].sha256 })),
                    .text(Self.arrayLiteral(accepted.map { Int64($0.crc32c) })), .real(now),
                    .text(Self.arrayLiteral(accepted.map { files[$0.index].etag })),
                    .text(Self.arrayLiteral(accepted.map { Self.propertiesText(files[$0.index].properties) })),
                ])
        }
        for entry in accepted { results[entry.index] = .success(()) }
        return results.map { $0! }
    }

    /// `reconcile` of each block in `added` (distinct blocks), in five statements: what the
    /// records say of every block at once, then each kind of change for all blocks at once.
    func reconcileAsSets(_ added: [BlockSummary], on nodeID: NodeID, now: Double, orphanGrace: Double) throws(DFSError) {
        let ids = added.map { Int64($0.blockID.rawValue) }
        let node = SQLValue.text(nodeID.rawValue)
        var known: [Int64: (length: Int, checksum: UInt32, complete: Bool, marked: Bool)] = [:]
        for (id, record) in try database.query(
            """
            SELECT blocks.id, blocks.length, blocks.checksum, files.complete,
                EXISTS(SELECT 1 FROM garbage WHERE garbage.block_id = blocks.id AND garbage.node_id = ?2)
            FROM blocks JOIN files ON files.id = blocks.file_id WHERE blocks.id = ANY(?1::bigint[])
            """, [.text(Self.arrayLiteral(ids)), node],
            row: { ($0.int64(0), ($0.int(1), UInt32(truncatingIfNeeded: $0.int64(2)), $0.int(3) == 1, $0.int(4) == 1)) })
        {
            known[id] = record
        }
        var orphans: [Int64] = []
        var good: [Int64] = []
        var corrupt: [Int64] = []
        for (summary, id) in zip(added, ids) {
            guard let record = known[id] else {
                orphans.append(id)
                continue
            }
            // A block of a pending file is recorded now; completing the file keeps it only if
            // its writer names this node. A replica already marked for deletion stays marked.
            if !record.complete {
                good.append(id)
            } else if record.marked {
                continue
            } else if record.length != summary.length || record.checksum != summary.checksum {
                corrupt.append(id)
            } else {
                good.append(id)
            }
        }
        if !orphans.isEmpty {
            try database.run(
                "INSERT INTO garbage(block_id, node_id, since) SELECT unnest(?1::bigint[]), ?2, ?3 ON CONFLICT DO NOTHING",
                [.text(Self.arrayLiteral(orphans)), node, .real(now + orphanGrace)])
        }
        if !corrupt.isEmpty {
            try database.run(
                """
                INSERT INTO replicas(block_id, node_id, corrupt) SELECT unnest(?1::bigint[]), ?2, 1
                ON CONFLICT(block_id, node_id) DO UPDATE SET corrupt = 1, suspect = NULL
                """, [.text(Self.arrayLiteral(corrupt)), node])
        }
        if !good.isEmpty {
            try database.run(
                "INSERT INTO replicas(block_id, node_id, corrupt) SELECT unnest(?1::bigint[]), ?2, 0 ON CONFLICT DO NOTHING",
                [.text(Self.arrayLiteral(good)), node])
        }
    }

    /// The folders among `paths`.
    private func existingFolders(_ paths: [DFSPath]) throws(DFSError) -> Set<PathKey> {
        guard !paths.isEmpty else { return [] }
        return Set(
            try database.query(
                "SELECT dirs.path FROM unnest(?1::text[]) AS wanted(path) JOIN dirs ON dirs.path = wanted.path", [.text(Self.arrayLiteral(paths.map(\.string)))]
            ) {
                PathKey(bytes: Array($0.text(0).utf8))
            })
    }

    /// The complete files among `paths`, by path, with their ids.
    private func completeFiles(_ paths: [DFSPath]) throws(DFSError) -> (paths: Set<PathKey>, ids: [PathKey: Int64]) {
        guard !paths.isEmpty else { return ([], [:]) }
        var ids: [PathKey: Int64] = [:]
        for (path, id) in try database.query(
            "SELECT files.path, files.id FROM unnest(?1::text[]) AS wanted(path) JOIN files ON files.path = wanted.path AND files.complete = 1",
            [.text(Self.arrayLiteral(paths.map(\.string)))],
            row: { (PathKey(bytes: Array($0.text(0).utf8)), $0.int64(1)) })
        {
            ids[path] = id
        }
        return (Set(ids.keys), ids)
    }

    /// Why a file cannot go at `path` (`checkFileCanGo`), from what the batch's reads found.
    private static func placementFailure(of path: DFSPath, folders: Set<PathKey>, completeFiles: Set<PathKey>) -> DFSError? {
        if folders.contains(PathKey(path)) { return DFSError(.isADirectory, "\(path) is a folder") }
        for ancestor in path.ancestors where completeFiles.contains(PathKey(ancestor)) {
            return DFSError(.notADirectory, "\(ancestor) is a file, so \(path) cannot be created under it")
        }
        return nil
    }

    /// True when no path of a batch is another's, or lies under another's: then no file of
    /// the batch changes what the checks of another find, and the batch may go as sets.
    static func batchPathsAreApart(_ paths: [DFSPath]) -> Bool {
        let keys = Set(paths.map(PathKey.init))
        guard keys.count == paths.count else { return false }
        return !paths.contains { path in path.ancestors.contains { keys.contains(PathKey($0)) } }
    }

    /// A PostgreSQL array literal of texts (`{"a","b\"c"}`), NULL for nil; bound as one text
    /// value and cast to `text[]` in the statement.
    static func arrayLiteral(_ texts: [String?]) -> String {
        var literal = "{"
        for (position, text) in texts.enumerated() {
            if position > 0 { literal += "," }
            guard let text else {
                literal += "NULL"
                continue
            }
            literal += "\""
            for character in text.unicodeScalars {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }

    static func arrayLiteral(_ texts: [String]) -> String { arrayLiteral(texts.map(Optional.some)) }

    /// A PostgreSQL array literal of integers (`{1,2}`).
    static func arrayLiteral(_ numbers: [Int64]) -> String {
        "{" + numbers.map(String.init).joined(separator: ",") + "}"
    }
}

/// A path as its bytes: PostgreSQL and SQLite compare paths byte by byte, where Swift's
/// `String` equality would make two spellings of one accented letter the same path.
struct PathKey: Hashable {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
    init(_ path: DFSPath) { bytes = Array(path.string.utf8) }
}
