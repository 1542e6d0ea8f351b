import DFSCore

/// SQL that matches a path and everything under it. `length()` and `substr()` count code
/// points, not bytes; stored text is always valid UTF-8, where a prefix in code points is a
/// prefix in bytes, and `=` compares bytes: the match is on bytes, as ``DFSPath`` splits and
/// compares (a name starting with a combining mark, `/a/\u{301}b`, is under `/a`).
let underPathSQL = "(path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/')"

extension MetaStore {
    /// Creates `path` and the folders above it, like `mkdir -p`.
    public func makeDirectory(_ path: DFSPath, now: Double) throws(DFSError) {
        guard !path.isRoot else { return }
        try path.validateForCreation()
        try database.transaction { () throws(DFSError) in
            for folder in path.ancestors + [path] {
                if try completeFileID(folder) != nil {
                    throw DFSError(.notADirectory, "\(folder) is a file, so \(path) cannot be a folder")
                }
                try database.run(
                    "INSERT INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [.text(folder.string), .text(folder.parent!.string), .text(folder.name), .real(now)])
            }
        }
    }

    /// Sets the permission bits, owner, group or modification time of a file, a link or a
    /// folder; what is nil stays as it is. The root folder's are fixed.
    public func setAttributes(_ request: SetAttributes) throws(DFSError) {
        guard !request.path.isRoot else { throw DFSError(.invalidArgument, "the root folder's attributes cannot be changed") }
        let values: [SQLValue] = [
            request.mode.map { .int($0) } ?? .null, request.uid.map { .int($0) } ?? .null, request.gid.map { .int($0) } ?? .null,
            request.mtime.map { .real($0) } ?? .null, .text(request.path.string),
        ]
        let set = "mode = coalesce(?1, mode), uid = coalesce(?2, uid), gid = coalesce(?3, gid), mtime = coalesce(?4, mtime)"
        try database.transaction { () throws(DFSError) in
            if try database.run("UPDATE files SET \(set) WHERE path = ?5 AND complete = 1", values) > 0 { return }
            if try database.run("UPDATE dirs SET \(set) WHERE path = ?5", values) > 0 { return }
            throw DFSError(.notFound, "no such file or folder: \(request.path)")
        }
    }

    /// Makes a symbolic link at `path` to `target`, with the folders above it, as a file
    /// is made: a complete file of no blocks whose target is kept. Nothing follows it in the
    /// cluster; a reader resolves it as its own system does.
    public func makeLink(_ path: DFSPath, target: String, overwrite: Bool, now: Double) throws(DFSError) {
        try FileInfo.checkLinkTarget(target, of: path)
        _ = try database.transaction { () throws(DFSError) in
            let fileID = try insertPendingFile(path: path, replication: 0, blockBytes: 0, overwrite: overwrite, now: now)
            try database.run("UPDATE files SET target = ? WHERE id = ?", [.text(target), .integer(fileID)])
            _ = try completePendingFile(fileID: fileID, size: 0, sha256: nil, blocks: [], now: now)
        }
    }

    /// Removes a file, an empty folder, or a folder tree; the files' replicas go to garbage.
    /// Returns the number of files removed.
    @discardableResult
    public func remove(_ path: DFSPath, recursive: Bool, now: Double) throws(DFSError) -> Int {
        guard !path.isRoot else { throw DFSError(.invalidArgument, "the root folder / cannot be removed") }
        return try database.transaction { () throws(DFSError) -> Int in
            if let fileID = try completeFileID(path) {
                try dropFile(fileID, now: now)
                return 1
            }
            guard try isFolder(path) else { throw DFSError(.notFound, "no such file or folder: \(path)") }
            let files = try database.query(
                "SELECT id FROM files WHERE complete = 1 AND \(underPathSQL)", [.text(path.string)]
            ) { $0.int64(0) }
            let folders = try database.query("SELECT count(*) FROM dirs WHERE \(underPathSQL)", [.text(path.string)]) { $0.int(0) }.first ?? 0
            if !recursive && (!files.isEmpty || folders > 1) {
                throw DFSError(.invalidArgument, "folder not empty: \(path); remove it with rm -r")
            }
            for fileID in files { try dropFile(fileID, now: now) }
            try database.run("DELETE FROM dirs WHERE \(underPathSQL)", [.text(path.string)])
            return files.count
        }
    }

    /// Renames a file or folder, as `mv` does, in one transaction. Returns the new path.
    @discardableResult
    public func move(_ source: DFSPath, to requested: DFSPath, now: Double) throws(DFSError) -> DFSPath {
        guard !source.isRoot else { throw DFSError(.invalidArgument, "the root folder / cannot be moved") }
        return try database.transaction { () throws(DFSError) -> DFSPath in
            let sourceFile = try completeFileID(source)
            let sourceIsFolder = try isFolder(source)
            guard sourceFile != nil || sourceIsFolder else {
                throw DFSError(.notFound, "no such file or folder: \(source)")
            }
            var target = requested
            // Onto an existing folder: inside it, under the source's own name.
            if try isFolder(target) { target = try target.appending(source.name) }
            // Both compare bytes (see DFSPath): `/a` + U+0301 is another name than `/á`,
            // and `/m/` + U+0301 + `n` is inside `/m`.
            if target == source { return target }
            if sourceFile == nil, target.isSelfOrDescendant(of: source) {
                throw DFSError(.invalidArgument, "cannot move folder \(source) into itself (\(target))")
            }
            try target.validateForCreation()
            guard let parent = target.parent, try isFolder(parent) else {
                throw DFSError(.notFound, "no such folder: \(target.parent?.string ?? "/"); create it with mkdir")
            }
            if try isFolder(target) {
                throw DFSError(.alreadyExists, "\(target) already exists and is a folder")
            }
            if let existing = try completeFileID(target) {
                guard sourceFile != nil else {
                    throw DFSError(.alreadyExists, "\(target) is a file; a folder cannot replace it")
                }
                try dropFile(existing, now: now)
            }
            // A file keeps its modification time, as a rename on a local file system does:
            // `rsync -a` sets the time on a temporary name, then renames it into place.
            if let fileID = sourceFile {
                try database.run(
                    "UPDATE files SET path = ?, parent = ?, name = ? WHERE id = ?",
                    [.text(target.string), .text(parent.string), .text(target.name), .integer(fileID)])
                return target
            }
            // A folder: the folder itself, then every path under it, by prefix.
            try database.run(
                "UPDATE dirs SET path = ?, parent = ?, name = ?, mtime = ? WHERE path = ?",
                [.text(target.string), .text(parent.string), .text(target.name), .real(now), .text(source.string)])
            for table in ["dirs", "files"] {
                try database.run(
                    """
                    UPDATE \(table) SET path = ?2 || substr(path, length(?1) + 1),
                        parent = ?2 || substr(parent, length(?1) + 1)
                    WHERE substr(path, 1, length(?1) + 1) = ?1 || '/'
                    """, [.text(source.string), .text(target.string)])
            }
            return target
        }
    }
}
