import DFSCore
import DFSNet
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a file is written.
public struct UploadOptions: Sendable {
    public var blockBytes: Int = 64 * 1024 * 1024
    /// nil: the meta server's default.
    public var replication: Int?
    /// When false, an existing file at the target path is an error.
    public var overwrite = true
    /// Also record the file's SHA-256 (as `sha256sum` prints it). Every file gets a
    /// CRC32C of its whole content for free; a SHA-256 costs the writer about 0.75 s of CPU
    /// per GiB (a sequential pass beside the block writes), close to what the rest of an
    /// upload costs it, so it is asked for, as S3 asks for additional checksums.
    public var sha256 = false
    /// Stored with the new version (``FileInfo/etag``, ``FileInfo/properties``) by
    /// `upload(localPath:to:options:)` and ``StreamingUpload``; batches of small files store none.
    public var etag: String?
    public var properties: [String: String]?
    public init(
        blockBytes: Int = 64 * 1024 * 1024, replication: Int? = nil, overwrite: Bool = true, sha256: Bool = false, etag: String? = nil,
        properties: [String: String]? = nil
    ) {
        self.blockBytes = blockBytes
        self.replication = replication
        self.overwrite = overwrite
        self.sha256 = sha256
        self.etag = etag
        self.properties = properties
    }
}

extension DFSClient {
    /// Writes a local file to `path`.
    ///
    /// The file is cut into blocks; up to ``Limits/blocksInFlight`` blocks are sent at once,
    /// each streamed from disk frame by frame, so memory stays bounded whatever the size. A block
    /// whose bytes are all sent gives its turn to the next while its nodes flush it, so the
    /// flushes overlap the sending (up to twice as many blocks await their acknowledgement).
    /// The file becomes visible only when every block is stored; on failure nothing does,
    /// and the pending file is abandoned. One try: ``upload(localPath:to:options:)`` retries.
    func uploadOnce(localPath: String, to path: DFSPath, options: UploadOptions) async throws -> FileInfo {
        guard options.blockBytes >= Limits.blockBytesMin, options.blockBytes <= Limits.blockBytesMax else {
            throw DFSError(
                .invalidArgument,
                "block size \(options.blockBytes) is outside \(ByteSize.format(Limits.blockBytesMin))...\(ByteSize.format(Limits.blockBytesMax))")
        }
        let source = try await BlockingIO.run { try LocalFile(readingAt: localPath) }
        defer { source.close() }
        let size = source.size
        let blockCount = (size + options.blockBytes - 1) / options.blockBytes
        guard blockCount <= Limits.blocksPerFileMax else {
            throw DFSError(.tooLarge, "\(localPath) needs \(blockCount) blocks; the limit is \(Limits.blocksPerFileMax); use a larger --block-size")
        }
        // A file of one block gets that block's allocation with its creation: one request
        // and one commit fewer, which is most of the cost of a small file. Not while this
        // client avoids nodes: `createFile` cannot exclude them, `allocateBlock` can.
        let created = try await metaRequest(
            CreateFile(
                path: path, replication: options.replication, blockBytes: options.blockBytes, overwrite: options.overwrite,
                allocateFirstBlock: blockCount == 1 && avoidance.nodes.isEmpty ? true : nil),
            expecting: CreateFileOK.self)
        await leases.add([created.fileID], leaseMilliseconds: created.leaseMilliseconds)
        do {
            // A SHA-256, when asked for, is computed in one sequential pass beside the parallel
            // block writes.
            async let digest = options.sha256 ? BlockingIO.run { try FileDigest.sha256(of: source) } : nil
            let sending = InFlightBudget(capacity: Limits.blocksInFlight)
            let blocks = try await forEach(count: blockCount, inFlight: 2 * Limits.blocksInFlight) { blockIndex in
                let offset = blockIndex * options.blockBytes
                let length = min(options.blockBytes, size - offset)
                return try await self.writeBlock(
                    fileID: created.fileID, blockIndex: blockIndex, source: source, offset: offset, length: length,
                    replication: created.replication, allocated: blockIndex == 0 ? created.firstBlock : nil, sending: sending)
            }
            let sha256 = try await digest
            let info = try await complete(
                CompleteFile(
                    fileID: created.fileID, size: size, sha256: sha256, blocks: blocks, etag: options.etag, properties: options.properties),
                path: path)
            await leases.remove([created.fileID])
            return info
        } catch {
            await leases.remove([created.fileID])
            await abandon([created.fileID])
            throw error
        }
    }

    /// Writes one block through a pipeline of nodes, again through other nodes when one
    /// fails, as ``PipelineAttempts`` decides.
    func writeBlock(
        fileID: Int64, blockIndex: Int, source: LocalFile, offset: Int, length: Int, replication: Int,
        allocated: AllocateBlockOK? = nil, pieceChecksums: [UInt32]? = nil, sending: InFlightBudget
    ) async throws -> CommittedBlock {
        var attempts = PipelineAttempts()
        var preallocated = allocated
        while attempts.startAttempt() {
            let allocation: AllocateBlockOK
            if let given = preallocated {
                allocation = given
                preallocated = nil
            } else {
                do {
                    allocation = try await allocateBlock(fileID: fileID, blockIndex: blockIndex, excluding: attempts.excluded)
                } catch let error as DFSError where error.code == .unavailable && attempts.best != nil {
                    break
                }
            }
            guard let first = allocation.targets.first else {
                throw DFSError(.unavailable, "no data node is available to store the file")
            }
            let targets = allocation.targets.map(\.nodeID)
            do {
                let reply = try await abandoningIfAvoided(targets) {
                    try await self.pool.withConnection(to: first.address, handshake: self.timeouts.stall) { connection in
                        try await self.sendBlock(
                            WriteBlock(blockID: allocation.blockID, length: length, pipeline: Array(allocation.targets.dropFirst()), token: allocation.token),
                            source: source, offset: offset, pieceChecksums: pieceChecksums, on: connection, sending: sending)
                    }
                }
                let outcome = PipelineOutcome(reply)
                let block = CommittedBlock(
                    blockID: allocation.blockID, blockIndex: blockIndex, length: length, checksum: reply.checksum,
                    nodes: outcome.stored(inOrderOf: targets))
                if attempts.recordAcknowledged(block, targets: targets, outcome: outcome) { return block }
                await notePipelineFailure(outcome.stalled, blockID: allocation.blockID, nil)
            } catch let abandoned as BlockAbandoned {
                attempts.recordFailed(targets: targets, outcome: PipelineOutcome(failed: abandoned.nodes), error: abandoned.error)
            } catch let error as DFSError where Self.isNodeFailure(error) {
                let outcome = PipelineOutcome.lost(first.nodeID, error)
                attempts.recordFailed(targets: targets, outcome: outcome, error: error)
                await notePipelineFailure(outcome.stalled, blockID: allocation.blockID, error)
            }
        }
        return try attempts.result(blockIndex: blockIndex)
    }

    /// Errors after which another node may well succeed: the node is down, slow, full, or
    /// stored something wrong. A request the cluster would refuse anywhere is not retried.
    static func isNodeFailure(_ error: DFSError) -> Bool {
        switch error.code {
        case .connectionFailed, .timeout, .ioError, .unavailable, .checksumMismatch, .internalError: true
        default: false
        }
    }

    /// Streams a block in frames of whole 64 KiB pieces, each with its checksums, holding one
    /// of the `sending` turns meanwhile, and checks that the node stored exactly what was sent.
    ///
    /// With `pieceChecksums` (one per piece of the block, computed as its bytes were written)
    /// the frames go from the page cache to the socket by sendfile(2), never read into this
    /// process; the node checks every piece against them, so bytes that changed since are
    /// refused, not stored.
    private func sendBlock(
        _ request: WriteBlock, source: LocalFile, offset: Int, pieceChecksums: [UInt32]?, on connection: Connection, sending: InFlightBudget
    ) async throws -> WriteBlockOK {
        let known = pieceChecksums.flatMap { $0.count == (request.length + Limits.pieceBytes - 1) / Limits.pieceBytes ? $0 : nil }
        await sending.acquire(1)
        var checksum = CRC32C()
        // The first node must take every frame, and answer at the end, within its stall time
        // (longer the more nodes follow it, see `Timeouts.stall(behind:)`).
        let stall = timeouts.stall(behind: request.pipeline.count + 1)
        do {
            try Task.checkCancellation()
            try await connection.send(request, timeout: stall)
            var sent = 0
            // Each frame's buffer, once sent, takes the next one (see PayloadBuffers).
            let spare = SpareBuffer()
            while sent < request.length {
                let count = min(Limits.writeFrameBytes, request.length - sent)
                let position = offset + sent
                if let known {
                    let pieces = Array(known[sent / Limits.pieceBytes..<(sent + count + Limits.pieceBytes - 1) / Limits.pieceBytes])
                    checksum.append(checksum: BlockData.combined(pieces, length: count), length: count)
                    try await connection.send(BlockData(checksums: pieces), file: try source.descriptor(), offset: position, count: count, timeout: stall)
                    sent += count
                    progress?(count)
                    continue
                }
                let payload = try await BlockingIO.run { try source.read(at: position, count: count, reusing: spare.bytes.take()) }
                let pieces = BlockData.checksums(of: payload)
                checksum.append(checksum: BlockData.combined(pieces, length: count), length: count)
                try await connection.send(BlockData(checksums: pieces), payload: payload, timeout: stall)
                sent += count
                progress?(count)
                spare.bytes = payload
            }
        } catch {
            await sending.release(1)
            throw error
        }
        await sending.release(1)
        // Nodes flushing the block send progress frames meanwhile, for up to a request's time.
        let reply = try await connection.readWriteBlockReply(request.blockID, stall: stall, deadline: .now + timeouts.request + stall)
        guard reply.blockID == request.blockID, reply.length == request.length, !reply.stored.isEmpty else {
            throw DFSError(.protocolError, "\(connection.name) acknowledged block \(reply.blockID) (\(reply.length) bytes), not \(request.blockID)")
        }
        guard reply.checksum == checksum.value else {
            throw DFSError(.ioError, "\(connection.name) stored block \(request.blockID) with checksum \(reply.checksum), not \(checksum.value)")
        }
        return reply
    }

    /// Runs `body` for block indexes 0..<count, at most ``Limits/blocksInFlight`` at once,
    /// and returns the results in index order. The first failure cancels the rest.
    func forEachBlock<T: Sendable>(count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await forEach(count: count, inFlight: Limits.blocksInFlight, body)
    }

    /// Runs `body` for indexes 0..<count, at most `inFlight` at once, and returns the results
    /// in index order. The first failure cancels the rest.
    func forEach<T: Sendable>(count: Int, inFlight: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(count, inFlight) {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < count {
                    let index = next
                    group.addTask { (index, try await body(index)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

/// One buffer handed between a task and the blocking-I/O thread it reads on, so that the
/// array moves instead of being shared (a shared array would be copied on its next write).
/// Used by one task at a time.
private final class SpareBuffer: @unchecked Sendable {
    var bytes: [UInt8]?
}
