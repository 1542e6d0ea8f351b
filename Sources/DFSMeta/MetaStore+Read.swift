import DFSCore
import DFSSystem
import Foundation

/// Reading the namespace: files with their block locations, folder listings, counts.
extension MetaStore {
    func completeFileID(_ path: DFSPath) throws(DFSError) -> Int64? {
        try database.query("SELECT id FROM files WHERE path = ? AND complete = 1", [.text(path.string)]) { $0.int64(0) }.first
    }

    func isFolder(_ path: DFSPath) throws(DFSError) -> Bool {
        if path.isRoot { return true }
        return try !database.query("SELECT 1 FROM dirs WHERE path = ?", [.text(path.string)]) { $0.int(0) }.isEmpty
    }

    private static let fileColumns = "id, path, size, mtime, replication, block_bytes, sha256, crc32c, mode, uid, gid, target, etag"

    /// A file or a link from the columns of ``fileColumns`` and `properties` after them, with
    /// its id.
    private static func fileInfoWithProperties(_ row: any MetaRow) -> (Int64, FileInfo)? {
        guard var (id, info) = fileInfo(row) else { return nil }
        if !row.isNull(13) { info.properties = decodeProperties(row.text(13)) }
        return (id, info)
    }

    /// Properties as stored: a JSON object of strings, its keys sorted.
    static func propertiesText(_ properties: [String: String]?) -> String? {
        guard let properties else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let data = try? encoder.encode(properties) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeProperties(_ text: String) -> [String: String]? {
        try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }

    /// A file or a link from the columns of ``fileColumns``, with its id.
    private static func fileInfo(_ row: any MetaRow) -> (Int64, FileInfo)? {
        guard let path = try? DFSPath(row.text(1)) else { return nil }
        let target = row.isNull(11) ? nil : row.text(11)
        return (
            row.int64(0),
            FileInfo(
                path: path, type: target == nil ? .file : .link, size: target?.utf8.count ?? row.int(2), mtime: row.double(3),
                replication: row.int(4), blockBytes: row.int(5),
                sha256: row.isNull(6) ? nil : row.text(6),
                crc32c: row.isNull(7) ? nil : UInt32(truncatingIfNeeded: row.int64(7)),
                mode: optional(row, 8), uid: optional(row, 9), gid: optional(row, 10), target: target,
                etag: row.isNull(12) ? nil : row.text(12))
        )
    }

    /// A folder whose mtime, mode, uid and gid are the row's columns from `first` on.
    static func folder(_ path: DFSPath, _ row: any MetaRow, from first: Int32) -> FileInfo {
        FileInfo(
            path: path, type: .dir, size: 0, mtime: row.double(first), replication: 0, blockBytes: 0,
            mode: optional(row, first + 1), uid: optional(row, first + 2), gid: optional(row, first + 3))
    }

    private static func optional(_ row: any MetaRow, _ column: Int32) -> Int? {
        row.isNull(column) ? nil : row.int(column)
    }

    private func folderInfo(_ path: DFSPath) throws(DFSError) -> FileInfo? {
        if path.isRoot { return FileInfo(path: .root, type: .dir, size: 0, mtime: 0, replication: 0, blockBytes: 0) }
        return try database.query("SELECT mtime, mode, uid, gid FROM dirs WHERE path = ?", [.text(path.string)]) {
            Self.folder(path, $0, from: 0)
        }.first
    }

    /// The complete file at `path`, with its id (pending files are invisible).
    func completeFile(_ path: DFSPath) throws(DFSError) -> (Int64, FileInfo)? {
        try database.query(
            "SELECT \(Self.fileColumns), properties FROM files WHERE path = ? AND complete = 1", [.text(path.string)], row: Self.fileInfoWithProperties
        )
        .first ?? nil
    }

    /// A file with its blocks and their locations, or a folder. Pending files are invisible.
    /// Replicas confirmed corrupt are left out; suspect ones come after the others.
    public func getFile(path: DFSPath) throws(DFSError) -> (info: FileInfo, blocks: [BlockLocation]) {
        if database.dialect == .postgres { return try Self.lookUpAsOne([path], in: database)[0].get() }
        return try database.reading { () throws(DFSError) in try lookUp(path) }
    }

    /// ``getFile(path:)`` for a request: ``lookUpTogether(_:)`` of one path.
    func lookUpTogether(_ path: DFSPath) async throws(DFSError) -> (info: FileInfo, blocks: [BlockLocation]) {
        guard database.dialect == .postgres else { return try getFile(path: path) }
        return try await lookUpTogether([path])[0].get()
    }

    /// ``getFiles(paths:)`` for a request. With PostgreSQL, the lookups of every request
    /// that arrives while one statement runs wait for it and then go together in the next
    /// (``lookUpAsOne(_:)``): readers at once share round trips to the database instead of
    /// queueing one by one on the store's one connection. A reader alone goes at once.
    func lookUpTogether(_ paths: [DFSPath]) async throws(DFSError) -> [Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>] {
        guard database.dialect == .postgres else { return try getFiles(paths: paths) }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                lookups.waiting.append((paths, continuation))
                if !lookups.running {
                    lookups.running = true
                    Task { await self.runLookups() }
                }
            }
        } catch {
            throw DFSError.wrap(error)
        }
    }

    /// Answers the waiting lookups, as many requests a statement as
    /// ``WaitingLookups/pathsPerStatement`` allows (a request's paths never split), until
    /// none wait. The statements run on a connection of their own, on the blocking-I/O
    /// threads: the store's queue goes on meanwhile with the requests that came before and
    /// after (decoding, answering, writing), and the lookups that arrive join the next one.
    private func runLookups() async {
        while !lookups.waiting.isEmpty {
            var count = 0
            var taken = 0
            for waiter in lookups.waiting {
                if taken > 0 && count + waiter.paths.count > WaitingLookups.pathsPerStatement { break }
                count += waiter.paths.count
                taken += 1
            }
            let batch = Array(lookups.waiting.prefix(taken))
            lookups.waiting.removeFirst(taken)
            do {
                let connection = try await lookupConnection()
                let paths = batch.flatMap(\.paths)
                var results = try await BlockingIO.run { try connection.run { database throws(DFSError) in try Self.lookUpAsOne(paths, in: database) } }[...]
                for waiter in batch {
                    waiter.continuation.resume(returning: Array(results.prefix(waiter.paths.count)))
                    results = results.dropFirst(waiter.paths.count)
                }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: DFSError.wrap(error)) }
            }
        }
        lookups.running = false
    }

    /// The connection of ``runLookups()``, opened at the first lookup (a standby, which
    /// answers none, never opens it).
    private func lookupConnection() async throws -> LookupConnection {
        if let connection = lookups.connection { return connection }
        guard let main = database as? PostgresMetaDatabase else { throw DFSError(.internalError, "lookups together need PostgreSQL") }
        let uri = main.uri
        // Without the fence: these statements only read.
        let opened = try await BlockingIO.run { LookupConnection(database: try PostgresMetaDatabase(uri: uri)) }
        lookups.connection = opened
        return opened
    }

    /// ``lookUp(_:)`` of each path in one statement (PostgreSQL, where each is a round
    /// trip): the folders' rows, and the files' rows, one per good replica of each block (a
    /// block without one, or a file without blocks, in a row of its own), by path, in block
    /// order, suspect replicas last.
    ///
    /// The paths go as values of their own, `path IN (?1, ..., ?N)`, N a power of two (the
    /// last path repeated to fill it): a prepared statement for each N, which PostgreSQL
    /// soon runs on a plan made once. Given as an array, PostgreSQL guesses ten rows for the
    /// plan made once and fewer for one made for the values at hand, finds the latter
    /// cheaper, and plans again at every run (measured: 0.6-1.4 ms of planning for a run of
    /// 0.1 ms).
    private static func lookUpAsOne(_ paths: [DFSPath], in database: any MetaDatabase) throws(DFSError) -> [Result<
        (info: FileInfo, blocks: [BlockLocation]), DFSError
    >] {
        var found: [PathKey: (info: FileInfo, blocks: [BlockLocation])] = [:]
        let wanted = paths.filter { !$0.isRoot }
        var start = 0
        while start < wanted.count {
            let chunk = wanted[start..<min(start + WaitingLookups.pathsPerStatement, wanted.count)]
            start += chunk.count
            try lookUpAsOne(Array(chunk), in: database, into: &found)
        }
        return paths.map { path in
            if path.isRoot { return .success((FileInfo(path: .root, type: .dir, size: 0, mtime: 0, replication: 0, blockBytes: 0), [])) }
            guard let file = found[PathKey(path)] else { return .failure(DFSError(.notFound, "no such file or folder: \(path)")) }
            return .success(file)
        }
    }

    /// The statement of ``lookUpAsOne(_:)`` for at most ``WaitingLookups/pathsPerStatement``
    /// paths, none the root.
    private static func lookUpAsOne(_ paths: [DFSPath], in database: any MetaDatabase, into found: inout [PathKey: (info: FileInfo, blocks: [BlockLocation])])
        throws(DFSError)
    {
        var count = 1
        while count < paths.count { count *= 2 }
        let values = (0..<count).map { SQLValue.text(paths[min($0, paths.count - 1)].string) }
        let list = (1...count).map { "?\($0)" }.joined(separator: ", ")
        let rows = try database.query(
            """
            SELECT 0, NULL::bigint, dirs.path, NULL::bigint, dirs.mtime, NULL::integer, NULL::bigint, NULL::text, NULL::bigint,
                NULL::bigint, NULL::integer, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::integer, NULL::boolean,
                dirs.mode, dirs.uid, dirs.gid, NULL::text, NULL::text, NULL::text
            FROM dirs WHERE dirs.path IN (\(list))
            UNION ALL
            SELECT 1, files.id, files.path, files.size, files.mtime, files.replication, files.block_bytes, files.sha256, files.crc32c,
                blocks.id, blocks.block_index, blocks.length, blocks.checksum, good.id, good.host, good.port, good.suspect,
                files.mode, files.uid, files.gid, files.target, files.etag, files.properties
            FROM files LEFT JOIN blocks ON blocks.file_id = files.id
            LEFT JOIN LATERAL (
                SELECT nodes.id, nodes.host, nodes.port, replicas.suspect IS NOT NULL AS suspect
                FROM replicas JOIN nodes ON nodes.id = replicas.node_id
                WHERE replicas.block_id = blocks.id AND replicas.corrupt = 0) AS good ON true
            WHERE files.path IN (\(list)) AND files.complete = 1
            ORDER BY 1, 3, 11, 17, 14
            """, values
        ) { row in
            (
                kind: row.int(0), path: PathKey(bytes: Array(row.text(2).utf8)),
                folder: row.int(0) == 0 ? (try? DFSPath(row.text(2))).map { Self.folder($0, FolderRowInUnion(row: row), from: 0) } : nil,
                file: row.int(0) == 1 ? Self.fileInfoWithProperties(FileRowInUnion(row: row)) : nil,
                block: row.isNull(9)
                    ? nil
                    : BlockLocation(
                        blockID: BlockID(UInt64(row.int64(9))), blockIndex: row.int(10), length: row.int(11),
                        checksum: UInt32(truncatingIfNeeded: row.int64(12)), replicas: []),
                replica: row.isNull(13)
                    ? nil : NodeAddress(nodeID: NodeID(row.text(13)), address: Endpoint(host: row.text(14), port: row.int(15)))
            )
        }
        // The file whose rows come now: its path, what it is, its blocks so far.
        var key: PathKey?
        var info: FileInfo?
        var blocks: [BlockLocation] = []
        func keep() {
            // A folder's path is never a file's too; should rows say so, the folder wins.
            if let key, let info, found[key] == nil { found[key] = (info, blocks) }
        }
        for row in rows {
            if row.kind == 0 {
                if let folder = row.folder { found[row.path] = (folder, []) }
                continue
            }
            if key != row.path {
                keep()
                key = row.path
                info = (row.file ?? nil)?.1
                blocks = []
            }
            guard info != nil, let block = row.block else { continue }
            if blocks.last?.blockID != block.blockID { blocks.append(block) }
            if let replica = row.replica { blocks[blocks.count - 1].replicas.append(replica) }
        }
        keep()
    }

    /// ``getFile(path:)`` for each path, in one read transaction; each path fails alone.
    public func getFiles(paths: [DFSPath]) throws(DFSError) -> [Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>] {
        if database.dialect == .postgres { return try Self.lookUpAsOne(paths, in: database) }
        return try database.reading { () throws(DFSError) in
            paths.map { path in
                do throws(DFSError) { return .success(try lookUp(path)) } catch { return .failure(error) }
            }
        }
    }

    private func lookUp(_ path: DFSPath) throws(DFSError) -> (info: FileInfo, blocks: [BlockLocation]) {
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
    /// itself when `path` is a file. With `withBlocks`, each file of at most one block
    /// comes with it (``ListOK/blocks``; replicas as `getFile` lists them, without tokens),
    /// and a page holds at most ``Limits/listEntriesWithBlocksMax`` entries.
    public func list(path: DFSPath, after: String?, limit: Int, withBlocks: Bool = false) throws(DFSError) -> ListOK {
        if let (_, file) = try completeFile(path) {
            return ListOK(info: file, entries: [file], more: false)
        }
        guard let folder = try folderInfo(path) else {
            throw DFSError(.notFound, "no such file or folder: \(path)")
        }
        let pageSize = min(max(limit, 1), withBlocks ? Limits.listEntriesWithBlocksMax : Limits.listEntriesMax)
        var after = after ?? ""
        // A row that is not what its `parent` column says (fsck names it: `pathProblems`) is
        // left out, not listed under a path it does not have. A page of nothing but such rows
        // is passed over, so that `more` never promises entries a reader cannot reach.
        while true {
            // One more than the page, from each table, tells whether more entries follow.
            let values: [SQLValue] = [.text(path.string), .text(after), .int(pageSize + 1)]
            let folders = try database.query(
                "SELECT name, path, mtime, mode, uid, gid FROM dirs WHERE parent = ? AND name > ? ORDER BY name LIMIT ?", values
            ) { row -> (name: String, entry: FileInfo?) in
                let name = row.text(0)
                guard let child = try? path.appending(name), child.string.utf8.elementsEqual(row.text(1).utf8) else { return (name, nil) }
                return (name, Self.folder(child, row, from: 2))
            }
            let files = try database.query(
                "SELECT \(Self.fileColumns), name FROM files WHERE parent = ? AND name > ? AND complete = 1 ORDER BY name LIMIT ?", values
            ) { row -> (name: String, entry: FileInfo?) in
                let name = row.text(13)
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
            guard withBlocks, let last = page.last else { return ListOK(info: folder, entries: entries, more: more) }
            let blocks = try oneBlockFiles(in: path, after: after, through: last.name)
            return ListOK(
                info: folder, entries: entries, more: more,
                blocks: entries.map { entry -> [BlockLocation]? in
                    guard entry.type == .file else { return nil }
                    if entry.size == 0 { return [] }
                    return blocks[Array(entry.path.name.utf8)]
                })
        }
    }

    /// The block of each file of one block among the complete files in `folder` named after
    /// `after` up to and including `last`, by the bytes of its name (Swift's `String`
    /// calls `é` and `e` U+0301 equal; their rows differ), with its good replicas (suspect
    /// ones last). A file is of one block exactly when its block 0 holds all its bytes
    /// (every block holds at least one), so the query reads one block row per file whatever
    /// the sizes, and a page of large files costs no more than one of small ones.
    private func oneBlockFiles(in folder: DFSPath, after: String, through last: String) throws(DFSError) -> [[UInt8]: [BlockLocation]] {
        let range: [SQLValue] = [.text(folder.string), .text(after), .text(last)]
        let oneBlock = "files JOIN blocks ON blocks.file_id = files.id AND blocks.block_index = 0 AND blocks.length = files.size"
        let inRange = "files.parent = ? AND files.name > ? AND files.name <= ? AND files.complete = 1"
        var byName: [[UInt8]: [BlockLocation]] = [:]
        var nameOf: [BlockID: [UInt8]] = [:]
        for (name, blockID, length, checksum) in try database.query(
            "SELECT files.name, blocks.id, blocks.length, blocks.checksum FROM \(oneBlock) WHERE \(inRange)", range,
            row: { (Array($0.text(0).utf8), BlockID(UInt64($0.int64(1))), $0.int(2), UInt32(truncatingIfNeeded: $0.int64(3))) })
        {
            byName[name] = [BlockLocation(blockID: blockID, blockIndex: 0, length: length, checksum: checksum, replicas: [])]
            nameOf[blockID] = name
        }
        let replicas = try database.query(
            """
            SELECT blocks.id, nodes.id, nodes.host, nodes.port FROM \(oneBlock)
            JOIN replicas ON replicas.block_id = blocks.id JOIN nodes ON nodes.id = replicas.node_id
            WHERE \(inRange) AND replicas.corrupt = 0
            ORDER BY blocks.id, replicas.suspect IS NOT NULL, nodes.id
            """, range
        ) { row in
            (BlockID(UInt64(row.int64(0))), NodeAddress(nodeID: NodeID(row.text(1)), address: Endpoint(host: row.text(2), port: row.int(3))))
        }
        for (blockID, address) in replicas {
            if let name = nameOf[blockID] { byName[name]?[0].replicas.append(address) }
        }
        return byName
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

/// The file columns of ``MetaStore``'s one-statement lookup: the first eight after its kind
/// column, the attributes after the blocks' and replicas' columns; the row as
/// ``MetaStore/fileInfo(_:)`` reads one.
private struct FileRowInUnion: MetaRow {
    let row: any MetaRow
    private func place(_ column: Int32) -> Int32 { column < 8 ? column + 1 : column + 9 }
    func int(_ column: Int32) -> Int { row.int(place(column)) }
    func int64(_ column: Int32) -> Int64 { row.int64(place(column)) }
    func double(_ column: Int32) -> Double { row.double(place(column)) }
    func text(_ column: Int32) -> String { row.text(place(column)) }
    func isNull(_ column: Int32) -> Bool { row.isNull(place(column)) }
}

/// A folder's columns in the one-statement lookup: its mtime, then its attributes after the
/// blocks' and replicas' columns; the row as ``MetaStore/folder(_:_:from:)`` reads one.
private struct FolderRowInUnion: MetaRow {
    let row: any MetaRow
    private func place(_ column: Int32) -> Int32 { column == 0 ? 4 : column + 16 }
    func int(_ column: Int32) -> Int { row.int(place(column)) }
    func int64(_ column: Int32) -> Int64 { row.int64(place(column)) }
    func double(_ column: Int32) -> Double { row.double(place(column)) }
    func text(_ column: Int32) -> String { row.text(place(column)) }
    func isNull(_ column: Int32) -> Bool { row.isNull(place(column)) }
}
