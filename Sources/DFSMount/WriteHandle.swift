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
    private let staging: StagingArea
    private let file: OpenFile
    private let stagedPath: String
    /// Bytes of the staged file, which is also what its share of the budget is.
    private(set) var size: Int
    /// True while the staged bytes differ from what the cluster holds.
    private(set) var dirty: Bool
    private(set) var mtime: Double
    private var closed = false
    /// The upload under way, which writes, truncates and other uploads wait for.
    private var uploading: Task<Void, any Error>?

    /// Stages a file: empty (`created` or truncated at open), or holding the current
    /// version's bytes, downloaded by `fill`.
    init(
        inode: UInt64, path: DFSPath, staging: StagingArea, dirty: Bool,
        fill: ((_ stagedPath: String) async throws -> Void)?
    ) async throws {
        self.inode = inode
        self.staging = staging
        let stagedPath = staging.newPath()
        self.stagedPath = stagedPath
        if let fill {
            try await fill(stagedPath)
        }
        let file = try await BlockingIO.run { () throws -> OpenFile in
            let file = try OpenFile.open(stagedPath, .readWrite, options: [.create], permissions: [.ownerReadWrite])
            // Beside it, the cluster path it is for: should this process die before the
            // upload, the next mount names what was left (see StagingArea.leftovers).
            try? FileSystem.write(Array(path.string.utf8), to: StagingArea.notePath(of: stagedPath))
            return file
        }
        let size = try await BlockingIO.run { try file.status().size }
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
        self.dirty = dirty
        self.mtime = Self.now()
    }

    /// Writes `bytes` at `offset`, growing the file (and its share of the budget) as needed.
    func write(_ bytes: [UInt8], at offset: Int) async throws -> Int {
        await waitForUpload()
        let end = offset + bytes.count
        let growth = max(0, end - size)
        try staging.reserve(growth)
        let file = self.file
        do {
            try await BlockingIO.run { try file.writeAll(bytes, at: offset) }
        } catch {
            staging.release(growth)
            throw error
        }
        size += growth
        dirty = true
        mtime = Self.now()
        return bytes.count
    }

    /// Up to `count` staged bytes at `offset`.
    func read(at offset: Int, count: Int) async throws -> [UInt8] {
        let available = max(0, min(count, size - offset))
        guard available > 0 else { return [] }
        let file = self.file
        return try await BlockingIO.run { try file.readExact(count: available, at: offset) }
    }

    /// Cuts or extends (with zeros) the staged file to `newSize`.
    func truncate(to newSize: Int) async throws {
        await waitForUpload()
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
        dirty = true
        mtime = Self.now()
    }

    /// Uploads the staged bytes to `path` if they changed since the last upload; returns
    /// only when the cluster acknowledged the new version (every replica on disk).
    func upload(to path: DFSPath, client: DFSClient, options: UploadOptions) async throws {
        await waitForUpload()
        guard dirty else { return }
        let stagedPath = self.stagedPath
        let upload = Task { _ = try await client.upload(localPath: stagedPath, to: path, options: options) }
        // No await between the check above and this: no other upload can start in between.
        uploading = upload
        defer { uploading = nil }
        try await upload.value
        dirty = false
    }

    /// Returns once no upload is under way (whether it succeeded or not).
    private func waitForUpload() async {
        while let upload = uploading {
            _ = try? await upload.value
            // The upload's own call clears `uploading` when it resumes; until then, yield
            // rather than spin on the same finished task.
            if uploading == upload { await Task.yield() }
        }
    }

    /// Closes and removes the staged file and gives its bytes back to the budget.
    func discard() async {
        guard !closed else { return }
        closed = true
        let file = self.file
        let stagedPath = self.stagedPath
        await BlockingIO.runQuietly {
            file.close()
            FileSystem.removeQuietly(stagedPath)
            FileSystem.removeQuietly(StagingArea.notePath(of: stagedPath))
        }
        staging.release(size)
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
