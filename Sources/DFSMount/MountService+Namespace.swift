import DFSClient
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

extension MountService {
    /// mkdir: EEXIST when the name is taken (the cluster's own call makes parents and
    /// accepts an existing folder, as `mkdir -p` does). The folder gets `mode` (the
    /// caller's, less the umask) and the caller as owner.
    func makeFolder(_ path: DFSPath, mode: Int, owner: (uid: Int, gid: Int)) async throws -> Attributes {
        try checkWritable()
        try path.validateForCreation()
        let checked = ContinuousClock.now
        if try await exists(path) { throw MountError(EEXIST, "\(path) exists") }
        // In its folder's snapshot before it exists: a snapshot may hold names that are not
        // there (a lookup asks the cluster), never lack one that is.
        snapshots.withLock { $0.added(path) }
        defer { changed(path) }
        try await client.makeDirectory(path)
        snapshots.withLock { $0.madeFolder(path, since: checked) }
        try await client.setAttributes(path, mode: mode & 0o7777, uid: owner.uid, gid: owner.gid)
        // Built here rather than asked for: the cluster has just stored exactly these (but
        // for the time, which is the cluster's: not kept, so the next getattr shows it).
        let inode = inodes.withLock { $0.remember(path) }
        return Attributes(inode: inode, type: .dir, size: 0, mtime: WriteHandle.now(), mode: mode & 0o7777, uid: owner.uid, gid: owner.gid)
    }

    /// unlink: removes a file or a link; a folder is EISDIR.
    func removeFile(_ path: DFSPath) async throws {
        try checkWritable()
        defer { changed(path) }
        if let inode = inodes.withLock({ $0.inode(of: path) }), let writer = handles.withLock({ $0.writers[inode] }) {
            // A write-back upload under way lands before the name goes.
            await writer.waitForUpload()
        }
        if try await isStagedOnly(path) {
            inodes.withLock { $0.unlink(path) }
            return
        }
        let file = try await client.stat(path)
        guard file.info.type != .dir else { throw MountError(EISDIR, "\(path) is a folder") }
        await keepReadersWhole(of: inodes.withLock { $0.inode(of: path) })
        try await client.remove(path, recursive: false)
        inodes.withLock { $0.unlink(path) }
    }

    /// rmdir: removes an empty folder; a file is ENOTDIR, a folder with entries ENOTEMPTY.
    func removeFolder(_ path: DFSPath) async throws {
        try checkWritable()
        defer { changed(path) }
        let file = try await client.stat(path)
        guard file.info.type == .dir else { throw MountError(ENOTDIR, "\(path) is not a folder") }
        try await removeEmptyFolder(path)
        snapshots.withLock { $0.removed(path) }
        if let inode = inodes.withLock({ $0.inode(of: path) }) { folderAttributes.withLock { $0.drop(inode) } }
        inodes.withLock { $0.unlink(path) }
    }

    private func removeEmptyFolder(_ path: DFSPath) async throws {
        let page = try await client.listPage(path, after: nil, limit: 1)
        guard page.entries.isEmpty else { throw MountError(ENOTEMPTY, "\(path) is not empty") }
        do {
            try await client.remove(path, recursive: false)
        } catch let error as DFSError where error.code == .invalidArgument {
            // Something arrived in it since the check.
            throw MountError(ENOTEMPTY, error.message)
        }
    }

    /// rename, as POSIX has it: a file replaces a file; a folder replaces an empty folder
    /// (ENOTEMPTY otherwise); a file onto a folder is EISDIR, a folder onto a file ENOTDIR.
    /// RENAME_NOREPLACE gives EEXIST when the target exists; RENAME_EXCHANGE is not offered.
    /// The cluster's move replaces a file atomically; replacing a folder removes the empty
    /// target first, then moves.
    func rename(_ source: DFSPath, to target: DFSPath, flags: UInt32) async throws {
        try checkWritable()
        try target.validateForCreation()
        if flags & Self.renameExchange != 0 { throw MountError(EINVAL, "RENAME_EXCHANGE is not supported") }
        // Once the move is done (or failed), lookups of either name ask the cluster.
        defer {
            changed(source)
            changed(target)
        }
        if let inode = inodes.withLock({ $0.inode(of: source) }), let writer = handles.withLock({ $0.writers[inode] }) {
            // A write-back upload under way lands before the file moves.
            await writer.waitForUpload()
        }
        // A file created here and still open has no cluster file to move yet: it goes to
        // the cluster first, under its old name, then moves like any file.
        if try await isStagedOnly(source), let inode = inodes.withLock({ $0.inode(of: source) }),
            let writer = handles.withLock({ $0.writers[inode] })
        {
            try await upload(writer)
        }
        let sourceFile = try await client.stat(source)
        var targetFile: GetFileOK?
        do {
            targetFile = try await client.stat(target)
        } catch let error as DFSError where error.code == .notFound {}
        if let targetFile {
            if flags & Self.renameNoReplace != 0 { throw MountError(EEXIST, "\(target) exists") }
            switch (sourceFile.info.type, targetFile.info.type) {
            case (.file, .dir), (.link, .dir): throw MountError(EISDIR, "\(target) is a folder")
            case (.dir, .file), (.dir, .link): throw MountError(ENOTDIR, "\(target) is not a folder")
            case (.dir, .dir):
                if target.isSelfOrDescendant(of: source) { throw MountError(EINVAL, "cannot move \(source) into itself") }
                try await removeEmptyFolder(target)
                snapshots.withLock { $0.removed(target) }
                if let inode = inodes.withLock({ $0.inode(of: target) }) { folderAttributes.withLock { $0.drop(inode) } }
            default: break
            }
        }
        if targetFile?.info.type == .file { await keepReadersWhole(of: inodes.withLock { $0.inode(of: target) }) }
        snapshots.withLock { snapshots in
            snapshots.removed(source)
            snapshots.added(target)
        }
        try await client.move(source, to: target)
        inodes.withLock { $0.move(source, to: target) }
    }

    /// renameat2(2)'s flags (linux/fs.h, which Glibc's module does not export).
    static let renameNoReplace: UInt32 = 1
    static let renameExchange: UInt32 = 2

    func openFolder(_ inode: UInt64) async throws -> UInt64 {
        let path = try path(of: inode)
        let folder = DirectoryHandle(path: path, client: client) { [weak self] folder in await self?.stagedFiles(in: folder) ?? [] }
        return try handles.withLock { try $0.add(.folder(folder)) }
    }

    func releaseFolder(_ handle: UInt64) {
        _ = handles.withLock { $0.remove(handle) }
    }

    /// The entries of an open folder from `offset` on (see ``DirectoryHandle``).
    func folderEntries(_ handle: UInt64, from offset: Int) async throws -> (DFSPath, [DirectoryEntry]) {
        guard case .folder(let folder) = try handles.withLock({ try $0.handle(handle) }) else {
            throw MountError(ENOTDIR, "handle \(handle) is not a folder")
        }
        return (folder.path, try await folder.entries(from: offset))
    }

    /// True when `path` is a file created through this mount, still open, that the cluster
    /// does not have yet.
    private func isStagedOnly(_ path: DFSPath) async throws -> Bool {
        guard let inode = inodes.withLock({ $0.inode(of: path) }), handles.withLock({ $0.writers[inode] }) != nil else { return false }
        return try await !exists(path)
    }

    /// Files in `folder` open for writing through this mount (or closed, their write-back
    /// upload under way), with their staged size, in name order. The caller drops those the
    /// cluster's listing shows (see ``DirectoryHandle``).
    func stagedFiles(in folder: DFSPath) async -> [FileInfo] {
        let writers = handles.withLock { Array($0.writers) }
        var found: [FileInfo] = []
        for (inode, writer) in writers {
            guard let entry = inodes.withLock({ $0.entries[inode] }), entry.linked, entry.path.parent == folder else { continue }
            let changes = pending.withLock { $0[inode] }
            await writer.writesApplied()
            let stagedTime = await writer.mtime
            found.append(
                FileInfo(
                    path: entry.path, type: .file, size: await writer.size, mtime: changes?.mtime ?? stagedTime, replication: 0,
                    blockBytes: 0, mode: changes?.mode, uid: changes?.uid, gid: changes?.gid))
        }
        return found.sorted { $0.path < $1.path }
    }

    private func exists(_ path: DFSPath) async throws -> Bool {
        do {
            _ = try await client.stat(path)
            return true
        } catch let error as DFSError where error.code == .notFound {
            return false
        }
    }
}
