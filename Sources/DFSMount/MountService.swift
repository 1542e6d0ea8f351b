import DFSClient
import DFSCore
import DFSSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Answers the mount's requests: names to inodes, attributes, listings, reads through the
/// block cache and writes through staged files, all over one ``DFSClient``.
///
/// The FUSE side (``FuseSession``) calls these methods from tasks, one per request, and
/// turns what they return or throw into the reply; nothing here knows about libfuse's
/// structures. The inode and handle tables are behind locks (short, never held across an
/// await); each open file is an actor of its own, so requests on different files run in
/// parallel and those on one file in order.
final class MountService: Sendable {
    let client: DFSClient
    let options: MountOptions
    let owner: (uid: uid_t, gid: gid_t)
    let inodes: Mutex<InodeTable>
    let handles = Mutex(HandleTable())
    /// Mode, owner and times set on files open for writing, by inode, until stored (see
    /// ``PendingAttributes``).
    let pending = Mutex<[UInt64: PendingAttributes]>([:])
    let cache: BlockCache
    let staging: StagingArea
    /// Uploads of small files, batched (see ``SmallFileUploads``).
    let smallUploads: SmallFileUploads
    /// Paths a lookup just found absent (see ``AbsentNames``).
    let absent: Mutex<AbsentNames>
    /// Recently listed folders, to answer lookups of names they lack (see ``FolderSnapshots``).
    let snapshots: Mutex<FolderSnapshots>
    /// Write-back uploads started by closes and not yet ended.
    let writebackUploads = Mutex(0)
    /// Folders' attributes, kept for the attribute timeout (see ``FolderAttributes``).
    let folderAttributes: Mutex<FolderAttributes>
    /// When the mount started, seconds since 1970.
    let startTime = WriteHandle.now()

    init(client: DFSClient, options: MountOptions, staging: StagingArea) {
        self.client = client
        self.options = options
        self.owner = (getuid(), getgid())
        self.inodes = Mutex(InodeTable(root: options.root))
        self.cache = BlockCache(client: client, capacityBytes: options.readCacheBytes)
        self.staging = staging
        self.smallUploads = SmallFileUploads(client: client, options: options.upload)
        self.absent = Mutex(AbsentNames(window: .seconds(options.timeouts.entrySeconds)))
        self.snapshots = Mutex(
            FolderSnapshots(window: .seconds(options.timeouts.entrySeconds), attributeWindow: .seconds(options.timeouts.attributeSeconds)))
        self.folderAttributes = Mutex(FolderAttributes(window: .seconds(options.timeouts.attributeSeconds)))
    }

    // MARK: Names

    /// The cluster path of `inode`, or ENOENT for an inode the mount does not know (one the
    /// kernel forgot, which it never asks about, or one removed meanwhile).
    func path(of inode: UInt64) throws -> DFSPath {
        guard let path = inodes.withLock({ $0.path(of: inode) }) else {
            throw MountError(ENOENT, "no inode \(inode)")
        }
        return path
    }

    /// The path of `name` inside the folder `parent`. Names must be UTF-8 (the cluster's
    /// names are): another name is EINVAL.
    func path(of name: UnsafePointer<CChar>, in parent: UInt64) throws -> DFSPath {
        guard let text = String(validatingCString: name) else {
            throw MountError(EINVAL, "a name that is not UTF-8")
        }
        return try path(of: parent).appending(text)
    }

    /// Notes the size the kernel is about to be given for a file (see ``open(_:flags:attributesChanged:)``),
    /// and returns `attributes`.
    func shown(_ attributes: Attributes) -> Attributes {
        guard attributes.type == .file else { return attributes }
        inodes.withLock { $0.noteShown(attributes.inode, size: attributes.size) }
        return attributes
    }

    func lookup(_ path: DFSPath) async throws -> Attributes {
        if let staged = try await stagedAttributes(of: path) {
            return inodes.withLock { table in
                _ = table.remember(path)
                return staged
            }
        }
        if let known = try knownFromSnapshot(path) { return known }
        let file: GetFileOK
        do {
            file = try await client.stat(path)
        } catch let error as DFSError where error.code == .notFound {
            absent.withLock { $0.remember(path) }
            if snapshots.withLock({ $0.noteMiss(path) }), let parent = path.parent { listForSnapshot(parent) }
            throw error
        }
        let inode = inodes.withLock { $0.remember(path) }
        let attributes = Attributes(inode: inode, file.info)
        folderAttributes.withLock { $0.keep(attributes) }
        if snapshots.withLock({ $0.noteFound(path) }), let parent = path.parent { listForSnapshot(parent) }
        return attributes
    }

    /// True when `path` can be answered ENOENT without waiting for anything: no file of this
    /// mount is staged under it and its folder's snapshot lacks it (see ``lookup(_:)``, which
    /// answers the same way, and ``FolderSnapshots``). Called on a FUSE reader thread.
    /// What `path`'s folder snapshot knows of it without waiting for anything: ENOENT
    /// (thrown) when it lacks the name, its attributes when its listing gave them and they
    /// still hold, nil when the cluster must be asked. Nil too while a file of this mount is
    /// staged under the name (its writer knows better). Callable on a FUSE reader thread.
    func knownFromSnapshot(_ path: DFSPath) throws -> Attributes? {
        if let inode = inodes.withLock({ $0.inode(of: path) }), handles.withLock({ $0.writers[inode] }) != nil { return nil }
        let (verdict, listed) = snapshots.withLock { snapshots in (snapshots.isAbsent(path), snapshots.listed(path)) }
        if verdict.refresh, let parent = path.parent { listForSnapshot(parent) }
        if verdict.absent {
            absent.withLock { $0.remember(path) }
            throw MountError(ENOENT, "\(path) is not in its folder's listing")
        }
        guard var listed else { return nil }
        listed.inode = inodes.withLock { $0.remember(path) }
        return listed
    }

    /// This mount changed what `path` is: its folder's snapshot no longer answers for it.
    func changed(_ path: DFSPath) {
        snapshots.withLock { $0.changed(path) }
    }

    /// A folder's attributes as ``attributes(of:)`` would give them from what it keeps, or nil
    /// when that needs more than a look (a file, or nothing kept). Called on a reader thread.
    func keptFolderAttributes(of inode: UInt64) -> Attributes? {
        guard handles.withLock({ $0.writers[inode] }) == nil else { return nil }
        return folderAttributes.withLock { $0.attributes(of: inode) }
    }

    /// Lists `folder` in the background for its snapshot (see ``FolderSnapshots``).
    func listForSnapshot(_ folder: DFSPath) {
        let started = ContinuousClock.now
        let client = self.client
        Task { [snapshots] in
            var names: [(name: [UInt8], listed: Attributes?)] = []
            var after: String?
            do {
                while true {
                    let page = try await client.listPage(folder, after: after, limit: Limits.listEntriesMax)
                    guard page.info.type == .dir else { throw MountError(ENOTDIR, "\(folder) is not a folder") }
                    names += page.entries.map { (Array($0.path.name.utf8), Attributes(inode: 0, $0)) }
                    if names.count > FolderSnapshots.folderNamesMax {
                        snapshots.withLock { $0.store(folder, names: nil, startedAt: started) }
                        return
                    }
                    guard page.more, let last = page.entries.last else { break }
                    after = last.path.name
                }
                snapshots.withLock { $0.store(folder, names: names, startedAt: started) }
            } catch {
                snapshots.withLock { $0.listingFailed(folder) }
            }
        }
    }

    func forget(_ inode: UInt64, count: Int) {
        inodes.withLock { $0.forget(inode, count: count) }
    }

    func attributes(of inode: UInt64) async throws -> Attributes {
        if let writer = handles.withLock({ $0.writers[inode] }) {
            return try await stagedAttributes(inode, writer, path: try path(of: inode))
        }
        if let kept = folderAttributes.withLock({ $0.attributes(of: inode) }) { return kept }
        if inodes.withLock({ $0.entries[inode]?.linked == false }) {
            // Unlinked or replaced, and still open here (the kernel asks only then): its
            // name is gone or holds another file, so the open version answers, as fstat of
            // an unlinked file does on a local disk.
            guard let reader = handles.withLock({ $0.readers(of: inode).first }) else {
                throw MountError(ENOENT, "inode \(inode) has no name and is not open for reading")
            }
            return Attributes(inode: inode, reader.file.info)
        }
        let file = try await client.stat(try path(of: inode))
        var attributes = Attributes(inode: inode, file.info)
        // The cluster's root folder has no time of its own: show the mount's start.
        if file.info.path.isRoot { attributes.mtime = startTime }
        folderAttributes.withLock { $0.keep(attributes) }
        return attributes
    }

    /// What a file being written shows before it reaches the cluster: its staged size.
    private func stagedAttributes(of path: DFSPath) async throws -> Attributes? {
        guard let inode = inodes.withLock({ $0.inode(of: path) }), let writer = handles.withLock({ $0.writers[inode] }) else {
            return nil
        }
        return try await stagedAttributes(inode, writer, path: path)
    }

    /// A file open for writing: its staged size and time, over the mode and owner the
    /// cluster has for it (none for a new file), with what was set through the mount since.
    /// A file created here and changed since its last upload knows all three already and
    /// asks the cluster nothing; one with nothing staged shows the cluster's version (a
    /// close uploads, and the release that ends the writer comes after it).
    private func stagedAttributes(_ inode: UInt64, _ writer: WriteHandle, path: DFSPath) async throws -> Attributes {
        let changes = pending.withLock { $0[inode] }
        await writer.writesApplied()
        let dirty = await writer.dirty
        var stored: FileInfo?
        if !dirty || changes?.mode == nil || changes?.uid == nil || changes?.gid == nil {
            do {
                stored = try await client.stat(path).info
            } catch let error as DFSError where error.code == .notFound {}
        }
        if !dirty, let stored { return Attributes(inode: inode, stored).with(changes) }
        let attributes = Attributes(
            inode: inode, type: .file, size: await writer.size, mtime: await writer.mtime, mode: stored?.mode, uid: stored?.uid,
            gid: stored?.gid)
        return attributes.with(changes)
    }

    // MARK: Space

    /// The cluster's capacity and free bytes, from its live nodes, in 4 KiB blocks.
    func fileSystemStatus() async throws -> statvfs {
        let status = try await client.status()
        let alive = status.nodes.filter(\.alive)
        let capacity = alive.reduce(0) { $0 + $1.capacity }
        let used = alive.reduce(0) { $0 + $1.used }
        let blockBytes = 4096
        var result = statvfs()
        result.f_bsize = UInt(blockBytes)
        result.f_frsize = UInt(blockBytes)
        result.f_blocks = fsblkcnt_t(capacity / blockBytes)
        result.f_bfree = fsblkcnt_t(max(0, capacity - used) / blockBytes)
        result.f_bavail = result.f_bfree
        result.f_files = fsfilcnt_t(status.totals.files)
        result.f_ffree = fsfilcnt_t(Int32.max)
        result.f_favail = result.f_ffree
        result.f_namemax = UInt(Limits.nameBytesMax)
        return result
    }

    func checkWritable() throws {
        if options.readOnly { throw MountError(EROFS, "the mount is read-only") }
    }
}
