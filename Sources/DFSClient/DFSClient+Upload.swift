import DFSCore
import DFSNet
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
    public init(blockBytes: Int = 64 * 1024 * 1024, replication: Int? = nil, overwrite: Bool = true) {
        self.blockBytes = blockBytes
        self.replication = replication
        self.overwrite = overwrite
    }
}

extension DFSClient {
    /// Writes a local file to `path`.
    ///
    /// The file is cut into blocks; up to ``Limits/blocksInFlight`` blocks are written at
    /// once, each streamed from disk in chunks, so memory stays bounded whatever the size.
    /// The file becomes visible only when every block is stored; on failure nothing does.
    @discardableResult
    public func upload(localPath: String, to path: DFSPath, options: UploadOptions = UploadOptions()) async throws -> FileInfo {
        guard options.blockBytes >= Limits.blockBytesMin, options.blockBytes <= Limits.blockBytesMax else {
            throw DFSError(.invalidArgument, "block size \(options.blockBytes) is outside \(ByteSize.format(Limits.blockBytesMin))...\(ByteSize.format(Limits.blockBytesMax))")
        }
        let source = try LocalFile(readingAt: localPath)
        defer { source.close() }
        let size = source.size
        let blockCount = (size + options.blockBytes - 1) / options.blockBytes
        guard blockCount <= Limits.blocksPerFileMax else {
            throw DFSError(.tooLarge, "\(localPath) needs \(blockCount) blocks; the limit is \(Limits.blocksPerFileMax); use a larger --block-size")
        }
        let created = try await metaRequest(
            CreateFile(path: path, replication: options.replication, blockBytes: options.blockBytes, overwrite: options.overwrite),
            expecting: CreateFileOK.self)
        do {
            let blocks = try await forEachBlock(count: blockCount) { blockIndex in
                let offset = blockIndex * options.blockBytes
                let length = min(options.blockBytes, size - offset)
                return try await self.writeBlock(
                    fileID: created.fileID, blockIndex: blockIndex, source: source, offset: offset, length: length)
            }
            try await metaRequest(CompleteFile(fileID: created.fileID, size: size, blocks: blocks), expecting: OK.self)
        } catch {
            _ = try? await metaRequest(AbandonFile(fileID: created.fileID), expecting: OK.self)
            throw error
        }
        return try await stat(path).info
    }

    /// Writes one block, asking for other nodes when one cannot take it.
    private func writeBlock(fileID: Int64, blockIndex: Int, source: LocalFile, offset: Int, length: Int) async throws -> CommittedBlock {
        var excluded: [NodeID] = []
        var lastError: (any Error)?
        for _ in 0..<3 {
            let allocation = try await metaRequest(
                AllocateBlock(fileID: fileID, blockIndex: blockIndex, excludeNodes: excluded), expecting: AllocateBlockOK.self)
            guard let first = allocation.targets.first else {
                throw DFSError(.unavailable, "no data node is available to store the file")
            }
            do {
                let stored = try await pool.withConnection(to: first.address) { connection in
                    try await self.sendBlock(
                        WriteBlock(blockID: allocation.blockID, length: length, pipeline: Array(allocation.targets.dropFirst())),
                        source: source, offset: offset, on: connection)
                }
                return CommittedBlock(blockID: allocation.blockID, blockIndex: blockIndex, length: length, nodes: stored)
            } catch let error as DFSError where error.code == .connectionFailed || error.code == .timeout || error.code == .ioError {
                excluded.append(first.nodeID)
                lastError = error
            }
        }
        throw lastError ?? DFSError(.unavailable, "could not store block \(blockIndex)")
    }

    private func sendBlock(_ request: WriteBlock, source: LocalFile, offset: Int, on connection: Connection) async throws -> [NodeID] {
        try await connection.send(request, timeout: timeouts.request)
        var sent = 0
        while sent < request.length {
            let count = min(Limits.chunkBytes, request.length - sent)
            let position = offset + sent
            let chunk = try await BlockingIO.run { try source.read(at: position, count: count) }
            try await connection.send(BlockData(), payload: chunk, timeout: timeouts.request)
            sent += count
        }
        let (reply, _) = try await connection.readReply(WriteBlockOK.self, timeout: timeouts.request)
        guard reply.blockID == request.blockID, reply.length == request.length, !reply.stored.isEmpty else {
            throw DFSError(.protocolError, "\(connection.name) acknowledged block \(reply.blockID) (\(reply.length) bytes), not \(request.blockID)")
        }
        return reply.stored
    }

    /// Runs `body` for block indexes 0..<count, at most ``Limits/blocksInFlight`` at once,
    /// and returns the results in index order. The first failure cancels the rest.
    func forEachBlock<T: Sendable>(count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(count, Limits.blocksInFlight) {
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
