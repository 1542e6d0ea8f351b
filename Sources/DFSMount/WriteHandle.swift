import DFSClient
import DFSCore
import DFSSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A file open for writing: its bytes staged in a local file, uploaded as a new version of
/// the cluster file when the file is flushed (on every close), synced, or released.
///
/// The upload is the cluster's usual one (blocks through replica pipelines, every replica
/// on disk before the acknowledgement; the file completes atomically), so other clients see
/// the old version, or none, until it returns, and then the whole new one.
///
/// An actor runs one method at a time only between awaits, and an upload awaits the
/// network: so one upload runs at a time (a flush arriving meanwhile, as when a child
/// process that inherited the descriptor closes its copy, waits for it and then uploads
/// only if something changed), and writes and truncates wait for the upload under way, so
/// an upload reads a staged file that does not change under it.
actor WriteHandle {
    /// The inode written: its path is asked for at each upload, so a rename while the file
    /// is open sends the bytes to the new name.
    let inode: UInt64
    let staging: StagingArea
    private let file: OpenFile
    private let stagedPath: String
    var stagedFilePath: String { stagedPath }
    /// Bytes of the staged file, which is also what its share of the budget is.
    private(set) var size: Int
    /// True while the staged bytes differ from what the cluster holds.
    private(set) var dirty: Bool
    private(set) var mtime: Double
    private(set) var closed = false
    typealias Upload = Task<Void, any Error>
    /// True when the staged file's notes are files beside it, not its extended attributes
    /// (see ``StagingArea/setNote(_:_:on:)``).
    private let notesAreFiles: Bool
    /// Where the ready note of a write-back close is, while there is one.
    private var readyNote: ReadyNoteKind?

    private enum ReadyNoteKind {
        case attribute, file
    }
    /// The upload under way, which writes, truncates and other uploads wait for.
    private var uploading: Upload?
    /// The blocks sent to the cluster as they fill, while the writes stay sequential from
    /// offset 0 (see WriteHandle+Streaming.swift); nil once they did not.
    var streaming: Streaming?
    /// Writes answered and not yet staged (see WriteHandle+Queue.swift).
    nonisolated let queue: Mutex<WriteQueue>

    /// Stages a file: empty (`created` or truncated at open), or holding the current
    /// version's bytes, downloaded by `fill`.
    init(
        inode: UInt64, path: DFSPath, staging: StagingArea, dirty: Bool, streaming: Streaming? = nil,
        fill: ((_ stagedPath: String) async throws -> Void)?
    ) async throws {
        self.inode = inode
        self.streaming = fill == nil ? streaming : nil
        self.staging = staging
        // A new, empty file reuses an idle staged file when there is one (see StagingArea).
        let idle = fill == nil ? staging.takeIdleFile() : nil
        let stagedPath = idle?.path ?? staging.newPath()
        self.stagedPath = stagedPath
        if let fill {
            try await fill(stagedPath)
        }
        let filled = fill != nil
        let (file, size, notesAreFiles) = try await BlockingIO.run { () throws -> (OpenFile, Int, Bool) in
            let file = try idle?.file ?? OpenFile.open(stagedPath, .readWrite, options: [.create], permissions: [.ownerReadWrite])
            // With it, the cluster path it is for: should this process die before the
            // upload, the next mount names what was left (see StagingArea.leftovers).
            let pathNote = Array(path.string.utf8)
            var notesAreFiles = false
            if !StagingArea.setNote(StagingArea.pathAttribute, pathNote, on: file.fd) {
                notesAreFiles = true
                try? FileSystem.write(pathNote, to: StagingArea.notePath(of: stagedPath))
            }
            do {
                return (file, filled ? try file.status().size : 0, notesAreFiles)
            } catch {
                file.close()
                throw error
            }
        }
        self.notesAreFiles = notesAreFiles
        do {
            try staging.reserve(size)
        } catch {
            file.close()
            FileSystem.removeQuietly(stagedPath)
            FileSystem.removeQuietly(StagingArea.notePath(of: stagedPath))
            throw error
        }
        self.file = file
        self.size = size
        self.queue = Mutex(WriteQueue(projectedSize: size))
        self.dirty = dirty
        self.mtime = Self.now()
    }

    /// Writes `bytes` at `offset` of the staged file, growing it as needed; the room it
    /// grows by was reserved when the write was queued (``enqueue(_:at:done:)``).
    func stage(_ bytes: WriteData, at offset: Int) async throws {
        // The kernel sends no write after the release; should one come, it does not reach
        // a descriptor number closed and perhaps reused.
        guard !closed else { throw MountError(EBADF, "the staged file of inode \(inode) is closed") }
        await waitForUpload()
        if streaming != nil && offset != size { await stopStreaming("a write at \(offset) of a file of \(size) bytes") }
        // Checked again after the waits: a discard meanwhile may have handed the descriptor
        // to another file (``StagingArea/takeIdleFile()``).
        guard !closed else { throw MountError(EBADF, "the staged file of inode \(inode) is closed") }
        let growth = max(0, offset + bytes.count - size)
        let file = self.file
        // The checksums of a streamed file's pieces are computed beside the pwrite, off the
        // actor, while the bytes are still in the processor's cache.
        let checksums = streaming?.checksums
        let updated = try await BlockingIO.run { () throws -> BlockPieceChecksums? in
            // In pieces of 64 KiB: the page cache sizes its folios by the write, and fresh large
            // folios cost several times as much to fill on this kind of virtual machine (see
            // Limits.pageCacheWriteBytes); the copy into them was a third of the mount's CPU.
            try bytes.withBytes { raw in
                try file.writeAll(raw, at: offset, pieceBytes: Limits.pageCacheWriteBytes)
                guard var checksums else { return nil }
                checksums.append(raw, at: offset)
                return checksums
            }
        }
        // Kept only if the streaming was not stopped or restarted meanwhile (an upload
        // starting takes it): the checksums must be of the stream they were computed for.
        if let updated, let checksums, streaming?.checksums.end == checksums.end { streaming?.checksums = updated }
        size += growth
        dirty = true
        mtime = Self.now()
        await sendFilledBlocks()
    }

    /// Up to `count` staged bytes at `offset`.
    func read(at offset: Int, count: Int) async throws -> [UInt8] {
        await writesApplied()
        let available = max(0, min(count, size - offset))
        guard available > 0 else { return [] }
        let file = self.file
        return try await BlockingIO.run { try file.readExact(count: available, at: offset) }
    }

    /// Cuts or extends (with zeros) the staged file to `newSize`.
    func truncate(to newSize: Int) async throws {
        await writesApplied()
        try checkQueuedWrites()
        await waitForUpload()
        if streaming != nil { await stopStreaming("a truncate") }
        guard !closed else { throw MountError(EBADF, "the staged file of inode \(inode) is closed") }
        if newSize > size { try staging.reserve(newSize - size) }
        let file = self.file
        do {
            try await BlockingIO.run { try file.resize(to: newSize) }
        } catch {
            if newSize > size { staging.release(newSize - size) }
            throw error
        }
        if newSize < size { staging.release(size - newSize) }
        size = newSize
        queue.withLock { $0.projectedSize = newSize }
        dirty = true
        mtime = Self.now()
    }

    /// Uploads the staged bytes with `send` if they changed since the last upload; returns
    /// only when the cluster acknowledged the new version (every replica on disk).
    func upload(to path: DFSPath, with send: @escaping @Sendable (_ stagedPath: String) async throws -> Void) async throws {
        guard let upload = try await startUpload(to: path, with: send) else { return }
        try await upload.value
    }

    /// Starts uploading the staged bytes with `send` if they changed since the last upload,
    /// and returns the upload (nil when there was nothing to upload) without waiting for it:
    /// for write-back, whose close returns before the upload. Writes, truncates and other
    /// uploads wait for it, so `send` reads a staged file that does not change under it.
    func startUpload(to path: DFSPath, with send: @escaping @Sendable (_ stagedPath: String) async throws -> Void) async throws -> Upload? {
        await writesApplied()
        // A write that failed once answered left the staged file short of what the program
        // wrote: never uploaded.
        try checkQueuedWrites()
        await waitForUpload()
        guard dirty else { return nil }
        let stagedPath = self.stagedPath
        let (stream, restart) = await takeStream(for: path)
        let size = self.size
        let upload = Task {
            if let stream {
                // The blocks already sent, the last one and the completion; the whole file
                // again only if that failed.
                do {
                    _ = try await stream.finish(size: size, localPath: stagedPath)
                    return
                } catch {
                    Log.warn("mount", "the streamed upload of \(path) failed (\(DFSError.wrap(error).message)); uploading the staged file")
                    await stream.abandon()
                }
            }
            try await send(stagedPath)
        }
        // No await between the check above and this: no other upload can start in between.
        uploading = upload
        restartStreaming(after: restart)
        Task {
            let succeeded = (try? await upload.value) != nil
            await self.uploadEnded(upload, succeeded: succeeded)
        }
        return upload
    }

    /// Clears the upload under way; the staged bytes are the cluster's version when it
    /// succeeded (no write came in between: writes wait for it).
    private func uploadEnded(_ upload: Task<Void, any Error>, succeeded: Bool) async {
        guard uploading == upload else { return }
        uploading = nil
        if succeeded {
            dirty = false
            await removeReadyNote()
        }
    }

    private func removeReadyNote() async {
        guard let kind = readyNote, !closed else { return }
        readyNote = nil
        let file = self.file
        let readyPath = StagingArea.readyPath(of: stagedPath)
        switch kind {
        case .attribute: StagingArea.removeNote(StagingArea.readyAttribute, on: file.fd)
        case .file: await BlockingIO.runQuietly { FileSystem.removeQuietly(readyPath) }
        }
    }

    /// Marks the staged bytes complete and for `path` with a note beside them (their size
    /// and CRC32C, see ``StagingArea/ReadyNote``), so that a mount started after this process
    /// died uploads them (see ``StagingArea/leftovers(in:)``). Write-back's close returns
    /// after this. Nothing is synced: the bytes and the note are in the kernel's page cache,
    /// which outlives the process; a machine that goes down before the upload may lose them,
    /// and a note whose bytes did not survive is reported at the next mount, not uploaded.
    func markReady(for path: DFSPath) async throws {
        await writesApplied()
        try checkQueuedWrites()
        await waitForUpload()
        guard dirty else { return }
        let file = self.file
        let size = self.size
        let readyPath = StagingArea.readyPath(of: stagedPath)
        let notesAreFiles = self.notesAreFiles
        readyNote = try await BlockingIO.run { () throws -> ReadyNoteKind in
            let note = StagingArea.ReadyNote(path: path.string, size: size, crc32c: CRC32C.checksum(try file.readExact(count: size, at: 0)))
            if !notesAreFiles && StagingArea.setNote(StagingArea.readyAttribute, note.bytes, on: file.fd) { return .attribute }
            let noteFile = try OpenFile.createOrTruncate(readyPath, permissions: [.ownerReadWrite])
            defer { noteFile.close() }
            try noteFile.writeAll(note.bytes, at: 0)
            return .file
        }
    }

    /// Returns once no upload is under way (whether it succeeded or not).
    func waitForUpload() async {
        while let upload = uploading {
            _ = try? await upload.value
            // The upload's watcher clears `uploading` when it resumes; until then, yield
            // rather than spin on the same finished task.
            if uploading == upload { await Task.yield() }
        }
    }

    /// Closes and removes the staged file and gives its bytes back to the budget.
    func discard() async {
        await writesApplied()
        // An upload reads the staged file: the file is emptied and reused only after it.
        await waitForUpload()
        guard !closed else { return }
        closed = true
        if streaming != nil { await stopStreaming(nil) }
        let file = self.file
        let stagedPath = self.stagedPath
        let noteFiles = (notesAreFiles ? [StagingArea.notePath(of: stagedPath)] : []) + (readyNote == .file ? [StagingArea.readyPath(of: stagedPath)] : [])
        let reusable = !notesAreFiles
        let staging = self.staging
        await BlockingIO.runQuietly {
            // Emptied and without notes, it waits for the next new file; else it goes.
            if reusable, (try? file.resize(to: 0)) != nil {
                StagingArea.removeNote(StagingArea.pathAttribute, on: file.fd)
                StagingArea.removeNote(StagingArea.readyAttribute, on: file.fd)
                if staging.keepIdleFile(stagedPath, file) { return }
            }
            file.close()
            FileSystem.removeQuietly(stagedPath)
            for path in noteFiles { FileSystem.removeQuietly(path) }
        }
        // A write that failed once queued keeps its reservation until here.
        staging.release(max(size, queue.withLock { $0.projectedSize }))
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

extension BlockingIO {
    /// Runs cleanup work off the cooperative pool, ignoring its failure.
    static func runQuietly(_ work: @escaping @Sendable () -> Void) async {
        _ = try? await run { work() }
    }
}
