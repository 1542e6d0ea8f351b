import DFSClient
import DFSCore
import DFSSystem

#if canImport(Glibc)
    import Glibc
#endif

extension MountService {
    /// Opens `inode`: for reading, the version the cluster has now; for writing, a staged
    /// copy (empty with O_TRUNC, else the current bytes, downloaded first).
    ///
    /// An open for reading asks the cluster for the file (close-to-open consistency): when
    /// its size is not the one the kernel was last given, `attributesChanged` is called
    /// before the open is answered, so the kernel asks for the size again instead of reading
    /// a new version cut to the old one's length.
    func open(_ inode: UInt64, flags: Int32, attributesChanged: (UInt64) -> Void = { _ in }) async throws -> UInt64 {
        let path = try path(of: inode)
        let writing = flags & O_ACCMODE != O_RDONLY
        if !writing {
            if let writer = handles.withLock({ $0.writers[inode] }) {
                // Open for writing here already: read what is staged, as a local file system would.
                return try handles.withLock { try $0.add(.write(writer)) }
            }
            let file = try await client.stat(path)
            guard file.info.type == .file else { throw MountError(EISDIR, "\(path) is a folder") }
            let changed = inodes.withLock { table -> Bool in
                guard let shown = table.entries[inode]?.shownSize, shown != file.info.size else { return false }
                table.noteShown(inode, size: nil)
                return true
            }
            if changed { attributesChanged(inode) }
            return try handles.withLock { try $0.add(.read(ReadHandle(path: path, inode: inode, file: file, cache: cache))) }
        }
        try checkWritable()
        if let earlier = handles.withLock({ $0.writers[inode] }) {
            // A write-back upload of the file may be under way: the new writer starts from
            // the version it makes.
            await earlier.waitForUpload()
        }
        let truncating = flags & O_TRUNC != 0
        let client = self.client
        let writer = try await WriteHandle(
            inode: inode, path: path, staging: staging, dirty: truncating, streaming: streaming(inode),
            fill: truncating
                ? nil
                : { stagedPath in
                    let file = try await client.stat(path)
                    guard file.info.type == .file else { throw MountError(EISDIR, "\(path) is a folder") }
                    try self.staging.reserve(file.info.size)
                    defer { self.staging.release(file.info.size) }
                    if file.info.size > 0 { try await client.download(path, to: stagedPath) }
                })
        do {
            return try handles.withLock { try $0.add(.write(writer)) }
        } catch {
            await writer.discard()
            throw error
        }
    }

    /// Creates `path` as an empty staged file open for writing. It reaches the cluster when
    /// it is closed or synced; until then only this mount shows it. With O_EXCL, a file the
    /// cluster has already is EEXIST (asked unless a lookup just found it absent, see
    /// ``AbsentNames``). Its mode (the caller's, less the umask) and owner (the
    /// caller) are stored right after its first upload.
    func create(_ path: DFSPath, flags: Int32, mode: Int, owner: (uid: Int, gid: Int)) async throws -> (Attributes, UInt64) {
        try checkWritable()
        try path.validateForCreation()
        if flags & O_EXCL != 0, !absent.withLock({ $0.take(path) }) {
            do {
                _ = try await client.stat(path)
                throw MountError(EEXIST, "\(path) exists")
            } catch let error as DFSError where error.code == .notFound {}
        }
        let inode = inodes.withLock { $0.remember(path) }
        snapshots.withLock { $0.added(path) }
        do {
            let writer = try await WriteHandle(inode: inode, path: path, staging: staging, dirty: true, streaming: streaming(inode), fill: nil)
            let handle = try handles.withLock { try $0.add(.write(writer)) }
            let attributes = PendingAttributes(mode: mode & 0o7777, uid: owner.uid, gid: owner.gid)
            pending.withLock { $0[inode] = attributes }
            return (Attributes(inode: inode, type: .file, size: 0, mtime: await writer.mtime).with(attributes), handle)
        } catch {
            forget(inode, count: 1)
            throw error
        }
    }

    func read(_ handle: UInt64, at offset: Int, count: Int) async throws -> ArraySlice<UInt8> {
        switch try handles.withLock({ try $0.handle(handle) }) {
        case .read(let reader): return try await reader.read(at: offset, count: count)
        case .write(let writer): return try await writer.read(at: offset, count: count)[...]
        case .folder: throw MountError(EISDIR, "handle \(handle) is a folder")
        }
    }

    /// Queues a write, to be answered at once (see ``WriteHandle/WriteQueue``); `done` gives
    /// its room back once it is staged. Throws what this write must fail with.
    func write(_ handle: UInt64, _ bytes: WriteData, at offset: Int, done: @escaping @Sendable () -> Void) throws {
        guard case .write(let writer) = try handles.withLock({ try $0.handle(handle) }) else {
            throw MountError(EBADF, "handle \(handle) is not open for writing")
        }
        try writer.enqueue(bytes, at: offset, done: done)
        contentChanged(writer.inode)
    }

    /// Uploads what `handle` staged, if anything changed: on fsync, which returns only
    /// once every replica has the bytes on disk (after a write-back upload under way, too).
    func upload(_ handle: UInt64) async throws {
        guard case .write(let writer) = try handles.withLock({ try $0.handle(handle) }) else { return }
        try await upload(writer)
    }

    /// On every close (FUSE's flush): uploads what `handle` staged and waits for it; with
    /// write-back, a small file returns once it is marked ready in the staging folder (see
    /// ``WriteHandle/markReady(for:)``), its upload started in the background (batched with
    /// others by ``SmallFileUploads``). At most ``writebackUploadsMax`` such uploads are under
    /// way or waiting: beyond, a close waits for its upload, as without write-back (each
    /// holds an open staged file until it lands).
    func close(_ handle: UInt64) async throws {
        guard case .write(let writer) = try handles.withLock({ try $0.handle(handle) }) else { return }
        await writer.writesApplied()
        guard options.writeback, let entry = inodes.withLock({ $0.entries[writer.inode] }), entry.linked,
            await writer.size <= DFSClient.batchedFileBytesMax(blockBytes: options.upload.blockBytes),
            writebackUploads.withLock({ count in
                guard count < Self.writebackUploadsMax else { return false }
                count += 1
                return true
            })
        else {
            return try await upload(writer)
        }
        let path = entry.path
        let inode = writer.inode
        let started: Task<Void, any Error>?
        do {
            try await writer.markReady(for: entry.path)
            started = try await writer.startUpload(to: path) { [self] stagedPath in
                try await uploadSmall(stagedPath, of: inode, to: path, patient: true)
                try await storePendingAttributes(of: inode, at: path)
            }
        } catch {
            writebackUploads.withLock { $0 -= 1 }
            throw error
        }
        guard let started else {
            writebackUploads.withLock { $0 -= 1 }
            return
        }
        Task { [self] in
            _ = try? await started.value
            changed(path)
            writebackUploads.withLock { $0 -= 1 }
        }
    }

    /// Write-back uploads under way or waiting, at most (see ``close(_:)``).
    static let writebackUploadsMax = 1024

    /// Uploads `writer` to its inode's path now. A file unlinked (or replaced by a rename)
    /// while open is not uploaded: as on a local file system, its bytes belong to no name.
    /// A small file goes through ``SmallFileUploads``: closes that come together share
    /// their round trips.
    func upload(_ writer: WriteHandle) async throws {
        guard let entry = inodes.withLock({ $0.entries[writer.inode] }), entry.linked else {
            // An upload under way (write-back) ends before the caller goes on.
            await writer.waitForUpload()
            return
        }
        let path = entry.path
        defer { changed(path) }
        let options = self.options.upload
        await writer.writesApplied()
        await keepReadersWhole(of: writer.inode)
        if await writer.size <= DFSClient.batchedFileBytesMax(blockBytes: options.blockBytes) {
            let inode = writer.inode
            try await writer.upload(to: path) { [self] stagedPath in try await uploadSmall(stagedPath, of: inode, to: path) }
        } else {
            let client = self.client
            try await writer.upload(to: path) { stagedPath in _ = try await client.upload(localPath: stagedPath, to: path, options: options) }
        }
        try await storePendingAttributes(of: writer.inode, at: path)
    }

    /// Uploads a small staged file of `inode` in a batch with others, created with the mode,
    /// owner and group waiting for it (a new file's), which are then stored: no request of
    /// their own after the upload. A `patient` upload (write-back's) may wait a little to share
    /// its batch (see ``SmallFileUploads``).
    private func uploadSmall(_ stagedPath: String, of inode: UInt64, to path: DFSPath, patient: Bool = false) async throws {
        var sent = pending.withLock { $0[inode] } ?? PendingAttributes()
        sent.mtime = nil
        try await smallUploads.upload(stagedPath, to: path, attributes: sent, patient: patient)
        pending.withLock { table in table[inode] = table[inode]?.removing(sent) }
    }

    /// Streaming for a writer of `inode` that starts empty: its blocks go to the cluster as
    /// they fill, to the path the inode has when the first one does.
    func streaming(_ inode: UInt64) -> WriteHandle.Streaming {
        let client = self.client
        let options = self.options.upload
        return WriteHandle.Streaming(blockBytes: options.blockBytes) { [self] in
            guard let entry = inodes.withLock({ $0.entries[inode] }), entry.linked else {
                throw MountError(ENOENT, "inode \(inode) has no name to upload to")
            }
            return try await StreamingUpload.start(client: client, path: entry.path, options: options)
        }
    }

    /// The kernel's last reference to `handle` is gone: a writer still holding changes (its
    /// flush failed, or its write-back upload is under way) uploads or waits for the upload
    /// while the handle still shows the file in this mount, then its staged file goes.
    func release(_ handle: UInt64) async {
        guard let open = handles.withLock({ try? $0.handle(handle) }) else { return }
        if case .read(let reader) = open {
            _ = handles.withLock { $0.remove(handle) }
            await reader.close()
            return
        }
        if case .write(let writer) = open { await writer.writesApplied() }
        if case .write(let writer) = open, !isOpen(writer, besides: handle), await writer.dirty {
            do {
                try await upload(writer)
            } catch {
                Log.error("mount", "lost the changes to \((try? path(of: writer.inode))?.description ?? "a file"): \(DFSError.wrap(error).message)")
            }
        }
        guard handles.withLock({ $0.remove(handle) }) != nil, case .write(let writer) = open, !isOpen(writer, besides: handle) else { return }
        // A write-back upload stores the new file's mode and owner when it lands: after it.
        await writer.waitForUpload()
        await writer.discard()
        _ = pending.withLock { $0.removeValue(forKey: writer.inode) }
    }

    /// Before the mount removes or replaces the version of `inode` that readers here have
    /// open: each keeps a whole copy of it (see ``ReadHandle/keepWhole(in:)``). A copy that
    /// does not fit in the staging budget is logged, and that reader may later get EIO.
    func keepReadersWhole(of inode: UInt64?) async {
        guard let inode else { return }
        for reader in handles.withLock({ $0.readers(of: inode) }) {
            do {
                try await reader.keepWhole(in: staging)
            } catch {
                Log.warn(
                    "mount",
                    "\(reader.path) is open for reading and its name goes, but its copy could not be kept: \(DFSError.wrap(error).message); reads past what is cached may fail"
                )
            }
        }
    }

    /// True when a handle other than `handle` holds `writer`.
    private func isOpen(_ writer: WriteHandle, besides handle: UInt64) -> Bool {
        handles.withLock { table in
            table.handles.contains { number, open in
                if case .write(let other) = open { number != handle && other === writer } else { false }
            }
        }
    }

    /// setattr: a new size truncates through a staged copy; mode, owner and modification
    /// time go to the cluster (see ``store(_:of:)``).
    func setAttributes(_ inode: UInt64, size: Int?, changes: PendingAttributes, handle: UInt64?) async throws -> Attributes {
        if let size {
            try checkWritable()
            if let handle, case .write(let writer) = try handles.withLock({ try $0.handle(handle) }) {
                try await writer.truncate(to: size)
                contentChanged(inode)
            } else if let writer = handles.withLock({ $0.writers[inode] }) {
                // A truncate by name changes the file for everyone at once, not at a close.
                try await writer.truncate(to: size)
                contentChanged(inode)
                try await upload(writer)
            } else {
                let temporary = try await open(inode, flags: size == 0 ? O_WRONLY | O_TRUNC : O_WRONLY)
                do {
                    guard case .write(let writer) = try handles.withLock({ try $0.handle(temporary) }) else {
                        throw MountError(EIO, "a truncate's handle is not a writer")
                    }
                    try await writer.truncate(to: size)
                    try await upload(writer)
                } catch {
                    await release(temporary)
                    throw error
                }
                await release(temporary)
            }
        }
        if !changes.isEmpty { try await store(changes, of: inode) }
        return try await attributes(of: inode)
    }
}
