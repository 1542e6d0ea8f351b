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
    public func uploadSmallFiles(_ files: [(localPath: String, path: DFSPath)], options: UploadOptions) async -> [DFSError?] {
        var options = options
        options.overwrite = true
        var errors = [DFSError?](repeating: nil, count: files.count)
        var treeFiles: [TreeFile] = []
        for (localPath, path) in files {
            let size = (try? await BlockingIO.run { try LocalFile(readingAt: localPath) }).map { file in
                defer { file.close() }
                return file.size
            }
            // A file that cannot be read goes one by one, which reports why.
            treeFiles.append(TreeFile(local: localPath, remote: path, size: size ?? Int.max))
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
            return nil
        } catch {
            return DFSError.wrap(error)
        }
    }
}
