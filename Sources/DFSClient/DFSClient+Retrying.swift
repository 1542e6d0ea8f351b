import DFSCore
import DFSNet

/// The units a command retries on their own (a file, a batch, a request), and the requests
/// whose second try must tell whether the first one took effect.
extension DFSClient {
    /// Writes a local file to `path` (see `uploadOnce`). A failure that may pass (the meta
    /// server restarting, every node of a block unreachable) starts this file again, with a
    /// new pending file, for up to ``retryFor``; a tree copy retries each file on its own.
    @discardableResult
    public func upload(localPath: String, to path: DFSPath, options: UploadOptions = UploadOptions()) async throws -> FileInfo {
        try await retrier.run("upload \(path)") { _ in
            try await self.uploadOnce(localPath: localPath, to: path, options: options)
        }
    }

    /// Reads `path` into a local file (see `downloadOnce`), starting the file again after a
    /// failure that may pass, for up to ``retryFor``.
    @discardableResult
    public func download(_ path: DFSPath, to localPath: String, verify: Bool = false) async throws -> FileInfo {
        try await retrier.run("download \(path)") { _ in
            try await self.downloadOnce(path, to: localPath, verify: verify)
        }
    }

    /// Completes a pending file. When a try fails after the request may have reached the
    /// meta server, the file may be complete already and the next try answers `notFound`
    /// (no pending file of that id): then the file at `path` is checked, and if it is this
    /// very upload (the same blocks, whose ids are never reused, and size), that is success.
    /// Even a first try's `notFound` is checked: the connection pool sends a request again
    /// by itself when a reused connection breaks, and the first send may have taken effect.
    func complete(_ request: CompleteFile, path: DFSPath) async throws -> FileInfo {
        try await retrier.run("completeFile") { _ in
            do {
                return try await self.send(request, expecting: CompleteFileOK.self).info
            } catch let error as DFSError where error.code == .notFound {
                guard let info = try await self.completedEarlier(path, request) else { throw error }
                return info
            }
        }
    }

    /// Completes the files of a batch, with the same check as ``complete(_:path:)`` for each
    /// file a retry finds gone (the batch is one transaction on the meta server: a lost
    /// reply means every file of it was completed, or none).
    func completeBatch(_ files: [CompleteFile], paths: [DFSPath]) async throws -> CompleteFilesOK {
        try await retrier.run("completeFiles") { _ in
            var reply = try await self.send(CompleteFiles(files: files), expecting: CompleteFilesOK.self)
            guard reply.files.count == files.count else {
                throw DFSError(.protocolError, "the meta server completed \(reply.files.count) of a batch of \(files.count) files")
            }
            for index in reply.files.indices where reply.files[index].error?.code == .notFound {
                if try await self.completedEarlier(paths[index], files[index]) != nil {
                    reply.files[index] = CompletedFile()
                }
            }
            return reply
        }
    }

    /// The file at `path` when it is the one `request` completes: a complete file of the same
    /// size and the same blocks. Block ids are never reused, so no other upload can match,
    /// except for an empty file, whose bytes are the same whoever wrote it.
    private func completedEarlier(_ path: DFSPath, _ request: CompleteFile) async throws -> FileInfo? {
        let found: GetFileOK
        do {
            found = try await send(GetFile(path: path), expecting: GetFileOK.self)
        } catch let error as DFSError where error.code == .notFound {
            return nil
        }
        guard found.info.type == .file, found.info.size == request.size,
            found.blocks.map(\.blockID) == request.blocks.map(\.blockID)
        else { return nil }
        return found.info
    }

    /// Drops pending files this client will not complete, through the retry path: after a
    /// failure, the meta server may be down for a moment, and a file left pending holds its
    /// blocks until its lease runs out. The wait counts from this cleanup's own first
    /// failure (the operation that failed may have given up on the same outage), and it runs
    /// even when the task that failed was cancelled. Errors are dropped: a file that cannot
    /// be abandoned (the meta server stayed away, or the file was completed after all) is
    /// left to its lease, or is a complete file.
    func abandon(_ fileIDs: [Int64]) async {
        guard !fileIDs.isEmpty else { return }
        let cleanup = Task {
            for fileID in fileIDs {
                do {
                    _ = try await self.retrier.run("abandonFile", ownDeadline: true) { _ in
                        try await self.send(AbandonFile(fileID: fileID), expecting: OK.self)
                    }
                } catch {
                    Log.debug("client", "could not abandon pending file \(fileID): \(DFSError.wrap(error).message)")
                }
            }
        }
        await cleanup.value
    }

    /// `remove`, retried: when a try that may have removed the path lost its reply, the
    /// next finds nothing there (`notFound`), which is what was asked.
    func idempotentRemove(_ path: DFSPath, recursive: Bool) async throws {
        try await retrier.run("remove") { attempt in
            do {
                _ = try await self.send(Remove(path: path, recursive: recursive), expecting: OK.self)
            } catch let error as DFSError where error.code == .notFound && attempt > 0 {
                return
            }
        }
    }

    /// `move`, retried: when a try that may have moved the source lost its reply, the next
    /// finds no source (`notFound`); if the target now exists, the move was made.
    func idempotentMove(_ source: DFSPath, to target: DFSPath) async throws {
        try await retrier.run("move") { attempt in
            do {
                _ = try await self.send(Move(source: source, target: target), expecting: OK.self)
            } catch let error as DFSError where error.code == .notFound && attempt > 0 {
                guard try await !self.exists(source), try await self.exists(target) else { throw error }
            }
        }
    }

    private func exists(_ path: DFSPath) async throws -> Bool {
        do {
            _ = try await send(GetFile(path: path), expecting: GetFileOK.self)
            return true
        } catch let error as DFSError where error.code == .notFound {
            return false
        }
    }
}
