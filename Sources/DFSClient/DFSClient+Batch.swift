import Crypto
import DFSCore
import DFSNet
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One local file of a tree copy.
struct TreeFile: Sendable {
    var local: String
    var remote: DFSPath
    var size: Int
    /// Permission bits, owner and group to create the file with (see ``NewFile``).
    var mode: Int? = nil
    var uid: Int? = nil
    var gid: Int? = nil
}

extension DFSClient {
    /// Cuts the small files of a tree copy into batches: consecutive files of at most
    /// ``Limits/batchedFileBytesMax`` (and one block), up to ``Limits/filesPerBatchMax``
    /// files and ``Limits/payloadBytesMax`` bytes per batch. Returns the batches (indexes into
    /// `files`) and the indexes of the files that go one by one.
    static func batches(of files: [TreeFile], blockBytes: Int) -> (batches: [[Int]], singles: [Int]) {
        let smallMax = min(blockBytes, Limits.batchedFileBytesMax)
        var batches: [[Int]] = []
        var singles: [Int] = []
        var current: [Int] = []
        var currentBytes = 0
        for (index, file) in files.enumerated() {
            guard file.size <= smallMax else {
                singles.append(index)
                continue
            }
            if current.count == Limits.filesPerBatchMax || currentBytes + file.size > Limits.payloadBytesMax {
                batches.append(current)
                current = []
                currentBytes = 0
            }
            current.append(index)
            currentBytes += file.size
        }
        if !current.isEmpty { batches.append(current) }
        return (batches, singles)
    }

    /// Uploads a batch of small files with three requests in all: `createFiles` (one commit
    /// for every file and its block), `writeBlocks` (every block in one frame, stored in one
    /// group flush on each node of one pipeline) and `completeFiles` (one commit). Returns,
    /// per file, true when it was copied and false when it was skipped (it existed and
    /// overwriting was off).
    ///
    /// A file that grew past the batch limit since the folder was read, or a batch whose
    /// pipeline fails anywhere, falls back to one-by-one uploads with their pipeline recovery.
    func uploadBatch(_ files: [TreeFile], options: UploadOptions) async throws -> [Bool] {
        let smallMax = min(options.blockBytes, Limits.batchedFileBytesMax)
        let contents = try await BlockingIO.run { try files.map { try Self.readSmallFile($0.local, limit: smallMax) } }
        var outcome = [Bool?](repeating: nil, count: files.count)
        // Files that are no longer small go one by one, like large files.
        var batched: [Int] = []
        for (index, bytes) in contents.enumerated() {
            if bytes == nil {
                outcome[index] = try await uploadOne(files[index], options: options)
            } else {
                batched.append(index)
            }
        }
        guard !batched.isEmpty else { return outcome.map { $0! } }

        let created = try await metaRequest(
            CreateFiles(
                files: batched.map {
                    NewFile(path: files[$0].remote, size: contents[$0]!.count, mode: files[$0].mode, uid: files[$0].uid, gid: files[$0].gid)
                },
                replication: options.replication, blockBytes: options.blockBytes, overwrite: options.overwrite),
            expecting: CreateFilesOK.self)
        guard created.files.count == batched.count else {
            throw DFSError(.protocolError, "the meta server answered \(created.files.count) of a batch of \(batched.count) files")
        }
        // Pending files of this batch, by index into `files`.
        var pending: [(index: Int, file: CreatedFile)] = []
        var firstError: DFSError?
        for (index, result) in zip(batched, created.files) {
            if let error = result.error {
                if error.code == .alreadyExists && !options.overwrite {
                    outcome[index] = false
                } else {
                    firstError = firstError ?? error
                }
            } else if result.fileID != nil {
                pending.append((index, result))
            } else {
                throw DFSError(.protocolError, "the meta server answered a batch file with neither a file nor an error")
            }
        }
        await leases.add(pending.compactMap(\.file.fileID), leaseMilliseconds: created.leaseMilliseconds)
        if let firstError {
            await abandon(pending.map(\.file))
            throw firstError
        }

        // Every block in one frame, to the batch's pipeline.
        let withData = pending.filter { $0.file.blockID != nil }
        var stored: [NodeID] = []
        var checksums: [UInt32] = []
        if !withData.isEmpty {
            var blocks: [BatchBlock] = []
            var payload: [UInt8] = []
            for (index, file) in withData {
                let bytes = contents[index]!
                let pieces = BlockData.checksums(of: bytes)
                blocks.append(BatchBlock(blockID: file.blockID!, length: bytes.count, checksums: pieces, token: file.token))
                checksums.append(BlockData.combined(pieces, length: bytes.count))
                payload += bytes
            }
            let targets = created.targets
            do {
                guard let first = targets.first else {
                    throw DFSError(.unavailable, "no data node is available to store the files")
                }
                let request = WriteBlocks(blocks: blocks, pipeline: Array(targets.dropFirst()))
                // A hung first node (or one hung behind it) is noticed within its stall time,
                // by the progress frames that stop coming, as for one block's write.
                let stall = timeouts.stall(behind: targets.count)
                let reply: WriteBlocksOK
                do {
                    reply = try await pool.withConnection(to: first.address, handshake: stall) { connection in
                        try await connection.send(request, payload: payload, timeout: stall)
                        return try await connection.readReply(
                            WriteBlocksOK.self, progressFor: blocks[0].blockID, stall: stall, deadline: .now + timeouts.request + stall)
                    }
                } catch let error as DFSError {
                    await notePipelineFailure(PipelineOutcome.lost(first.nodeID, error).stalled, blockID: blocks[0].blockID, error)
                    throw error
                }
                let outcome = PipelineOutcome(reply)
                await notePipelineFailure(outcome.stalled, blockID: blocks[0].blockID, nil)
                guard reply.checksums == checksums else {
                    throw DFSError(.ioError, "\(first.address) stored a batch of \(blocks.count) blocks with other checksums")
                }
                stored = outcome.stored(inOrderOf: targets.map(\.nodeID))
                guard outcome.isComplete(for: targets.map(\.nodeID)) else {
                    throw DFSError(.unavailable, "the batch reached \(stored.count) of \(targets.count) nodes")
                }
            } catch let error as DFSError where Self.isNodeFailure(error) {
                // A node failed: each file goes again on its own, with pipeline recovery.
                await abandon(pending.map(\.file))
                for (index, _) in pending {
                    outcome[index] = try await uploadOne(files[index], options: options)
                }
                return outcome.map { $0! }
            } catch {
                await abandon(pending.map(\.file))
                throw error
            }
        }

        var blockOf: [Int: CommittedBlock] = [:]
        for ((index, file), checksum) in zip(withData, checksums) {
            blockOf[index] = CommittedBlock(blockID: file.blockID!, blockIndex: 0, length: contents[index]!.count, checksum: checksum, nodes: stored)
        }
        let completions = pending.map { index, file in
            let bytes = contents[index]!
            return CompleteFile(
                fileID: file.fileID!, size: bytes.count, sha256: options.sha256 ? Hex.encode(SHA256.hash(data: bytes)) : nil,
                blocks: blockOf[index].map { [$0] } ?? [])
        }
        let completed: CompleteFilesOK
        do {
            completed = try await completeBatch(completions, paths: pending.map { files[$0.index].remote })
        } catch {
            await abandon(pending.map(\.file))
            throw error
        }
        await leases.remove(pending.compactMap(\.file.fileID))
        var refused: [CreatedFile] = []
        for ((index, file), result) in zip(pending, completed.files) {
            if let error = result.error {
                refused.append(file)
                if error.code == .alreadyExists && !options.overwrite {
                    outcome[index] = false
                } else {
                    firstError = firstError ?? error
                }
            } else {
                outcome[index] = true
                progress?(contents[index]!.count)
            }
        }
        // A file the meta server would not complete is still pending: drop it now.
        await abandon(refused)
        if let firstError { throw firstError }
        return outcome.map { $0! }
    }

    /// One file of a tree on its own: true when copied, false when skipped as existing.
    func uploadOne(_ file: TreeFile, options: UploadOptions) async throws -> Bool {
        do {
            try await upload(localPath: file.local, to: file.remote, options: options)
            return true
        } catch let error as DFSError where error.code == .alreadyExists && !options.overwrite {
            return false
        }
    }

    /// Pending files of a batch nobody will complete are dropped now, not when their lease
    /// runs out (see ``abandon(_:)``).
    private func abandon(_ files: [CreatedFile]) async {
        let fileIDs = files.compactMap(\.fileID)
        await leases.remove(fileIDs)
        await abandon(fileIDs)
    }

    /// A small file's bytes, or nil when it has grown past `limit`.
    static func readSmallFile(_ path: String, limit: Int) throws -> [UInt8]? {
        let file = try LocalFile(readingAt: path)
        defer { file.close() }
        guard file.size <= limit else { return nil }
        return file.size == 0 ? [] : try file.read(at: 0, count: file.size)
    }
}
