import DFSCore
import DFSSystem

extension DFSClient {
    /// Largest file ``uploadSmallFiles(_:options:)`` sends in a batch with others, for
    /// files of `blockBytes` blocks: one block, and at most ``Limits/batchedFileBytesMax``.
    public static func batchedFileBytesMax(blockBytes: Int) -> Int {
        min(blockBytes, Limits.batchedFileBytesMax)
    }

    /// Uploads local files, each as a new version of its cluster path, the small ones
    /// (see ``batchedFileBytesMax(blockBytes:)``) in batches of three requests each
    /// (`createFiles`, `writeBlocks`, `completeFiles`, as a tree copy sends them), the others
    /// one by one. Each file is complete on every replica, and visible whole, when this
    /// returns without an error for it.
    ///
    /// Returns, per file, nil when it was uploaded, or why it was not. A batch that fails as
    /// a whole (one bad path fails its `createFiles`) goes again file by file, so that one
    /// file's error is that file's alone.
    ///
    /// A file given a mode, owner or group is created with them, in the same requests; one
    /// given none keeps those of the version it replaces.
    public func uploadSmallFiles(_ files: [SmallFileUpload], options: UploadOptions) async -> [DFSError?] {
        var options = options
        options.overwrite = true
        var errors = [DFSError?](repeating: nil, count: files.count)
        // Every size in one hand-off to the blocking-I/O threads.
        let localPaths = files.map(\.localPath)
        let sizes =
            (try? await BlockingIO.run {
                localPaths.map { path in
                    (try? LocalFile(readingAt: path)).map { file in
                        defer { file.close() }
                        return file.size
                    }
                }
            }) ?? Array(repeating: nil, count: files.count)
        var treeFiles: [TreeFile] = []
        for (file, size) in zip(files, sizes) {
            // A file that cannot be read goes one by one, which reports why.
            treeFiles.append(TreeFile(local: file.localPath, remote: file.path, size: size ?? Int.max, mode: file.mode, uid: file.uid, gid: file.gid))
        }
        let (batches, singles) = Self.batches(of: treeFiles, blockBytes: options.blockBytes)
        for batch in batches {
            do {
                _ = try await uploadBatch(batch.map { treeFiles[$0] }, options: options)
            } catch {
                for index in batch { errors[index] = await uploadAlone(treeFiles[index], options: options) }
            }
        }
        for index in singles { errors[index] = await uploadAlone(treeFiles[index], options: options) }
        return errors
    }

    private func uploadAlone(_ file: TreeFile, options: UploadOptions) async -> DFSError? {
        do {
            _ = try await upload(localPath: file.local, to: file.remote, options: options)
            if file.mode != nil || file.uid != nil || file.gid != nil {
                try await setAttributes(file.remote, mode: file.mode, uid: file.uid, gid: file.gid)
            }
            return nil
        } catch {
            return DFSError.wrap(error)
        }
    }
}

/// One file for ``DFSClient/uploadSmallFiles(_:options:)``: a local file, the cluster path it
/// becomes, and optionally the permission bits, owner and group it is created with.
public struct SmallFileUpload: Sendable {
    public var localPath: String
    public var path: DFSPath
    public var mode: Int?
    public var uid: Int?
    public var gid: Int?
    public init(localPath: String, path: DFSPath, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil) {
        self.localPath = localPath
        self.path = path
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}
