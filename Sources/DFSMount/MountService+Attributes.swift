import DFSClient
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

extension MountService {
    /// chmod, chown and utimens: stored in the cluster at once, except on a file open for
    /// writing with staged changes, where they wait for its upload (which would otherwise
    /// make a new version with its own time, or, for a new file, has nothing to set them on
    /// yet) and show meanwhile.
    func store(_ changes: PendingAttributes, of inode: UInt64) async throws {
        try checkWritable()
        folderAttributes.withLock { $0.drop(inode) }
        let path = try path(of: inode)
        defer { changed(path) }
        // The cluster's root folder keeps fixed attributes. Accepted and dropped, as before
        // attributes were stored, so that `rsync -a src/ MOUNT/` or `cp -a src/. MOUNT` onto a
        // mount of the whole cluster does not fail on the last step.
        if path.isRoot { return }
        if let writer = handles.withLock({ $0.writers[inode] }) {
            pending.withLock { $0[inode] = ($0[inode] ?? PendingAttributes()).merged(with: changes) }
            // Nothing staged to upload: the cluster has this version, so it can take them now.
            await writer.writesApplied()
            if await !writer.dirty { try await storePendingAttributes(of: inode, at: path) }
            return
        }
        try await client.setAttributes(path, mode: changes.mode, uid: changes.uid, gid: changes.gid, mtime: changes.mtime)
    }

    /// Stores what waited for the upload of a file open for writing (see ``PendingAttributes``),
    /// once that upload made the cluster's version. Kept for the next upload if this fails.
    func storePendingAttributes(of inode: UInt64, at path: DFSPath) async throws {
        guard let changes = pending.withLock({ $0.removeValue(forKey: inode) }) else { return }
        defer { changed(path) }
        do {
            try await client.setAttributes(path, mode: changes.mode, uid: changes.uid, gid: changes.gid, mtime: changes.mtime)
        } catch {
            pending.withLock { $0[inode] = changes.merged(with: $0[inode] ?? PendingAttributes()) }
            throw error
        }
    }

    /// A write or truncate of a file open for writing: a modification time set before it
    /// (utimens, `touch -d`) no longer holds, as on a local file system, where the write
    /// sets the time again; the upload's own time stands instead. Mode and owner stay.
    func contentChanged(_ inode: UInt64) {
        pending.withLock { table in
            guard table[inode]?.mtime != nil else { return }
            table[inode]?.mtime = nil
            if table[inode]?.isEmpty == true { table.removeValue(forKey: inode) }
        }
    }

    /// symlink: a link at `path` to `target`, owned by the caller. EEXIST when the name is
    /// taken, whatever by.
    func makeLink(_ path: DFSPath, target: String, owner: (uid: Int, gid: Int)) async throws -> Attributes {
        try checkWritable()
        try path.validateForCreation()
        snapshots.withLock { $0.added(path) }
        defer { changed(path) }
        do {
            try await client.makeLink(path, target: target)
        } catch let error as DFSError where error.code == .alreadyExists || error.code == .isADirectory {
            throw MountError(EEXIST, "\(path) exists")
        }
        try await client.setAttributes(path, uid: owner.uid, gid: owner.gid)
        // Built here rather than asked for: the cluster has just stored exactly these.
        let inode = inodes.withLock { $0.remember(path) }
        return Attributes(
            inode: inode, type: .link, size: target.utf8.count, mtime: WriteHandle.now(), uid: owner.uid, gid: owner.gid)
    }

    /// readlink: a link's target; EINVAL for anything else, as readlink(2) has it.
    func linkTarget(_ inode: UInt64) async throws -> String {
        let path = try path(of: inode)
        let info = try await client.stat(path).info
        guard info.type == .link, let target = info.target else { throw MountError(EINVAL, "\(path) is not a link") }
        return target
    }
}
