import DFSCore
import DFSSystem

/// A file uploaded block by block while it is being written, for a writer that does not
/// know its size in advance (the mount, as a program writes a file sequentially).
///
/// ``start(client:path:options:)`` creates the pending file; ``send(blockIndex:localPath:offset:length:)``
/// sends one full block from a local file in the background, streamed from disk frame by
/// frame as any upload's blocks are; ``finish(size:)`` waits for every block and completes
/// the file, which becomes visible whole and at once; ``abandon()`` drops it. Until
/// `finish` returns, other clients see the old version or none.
///
/// At most ``blocksInFlightMax`` blocks are unacknowledged at once: `send` waits for the
/// oldest beyond that, which bounds what the writer may run ahead of the cluster.
public actor StreamingUpload {
    /// Two: one block flushing on its nodes while the next is sent, as ``DFSClient`` uploads do.
    public static let blocksInFlightMax = 2

    private let client: DFSClient
    public nonisolated let path: DFSPath
    private let options: UploadOptions
    private let fileID: Int64
    private let replication: Int
    private let sending = InFlightBudget(capacity: 1)
    private var inFlight: [(blockIndex: Int, task: Task<CommittedBlock, any Error>)] = []
    private var acknowledged: [CommittedBlock] = []
    private var ended = false

    private init(client: DFSClient, path: DFSPath, options: UploadOptions, fileID: Int64, replication: Int) {
        self.client = client
        self.path = path
        self.options = options
        self.fileID = fileID
        self.replication = replication
    }

    /// Creates the pending file at `path` (replacing the current version when it completes).
    public static func start(client: DFSClient, path: DFSPath, options: UploadOptions) async throws -> StreamingUpload {
        var options = options
        options.overwrite = true
        let created = try await client.metaRequest(
            CreateFile(path: path, replication: options.replication, blockBytes: options.blockBytes, overwrite: true, allocateFirstBlock: nil),
            expecting: CreateFileOK.self)
        await client.leases.add([created.fileID], leaseMilliseconds: created.leaseMilliseconds)
        return StreamingUpload(client: client, path: path, options: options, fileID: created.fileID, replication: created.replication)
    }

    /// The size of every block but the last.
    public var blockBytes: Int { options.blockBytes }

    /// Starts sending block `blockIndex`: `length` bytes of `localPath` from `offset`, which
    /// must not change until ``finish(size:)`` or ``abandon()``. Waits while
    /// ``blocksInFlightMax`` blocks are unacknowledged; throws the error of a block that failed.
    /// With `pieceChecksums` (see ``BlockPieceChecksums``) the block goes from the page cache
    /// to the socket by sendfile(2) instead of being read and checksummed here.
    public func send(blockIndex: Int, localPath: String, offset: Int, length: Int, pieceChecksums: [UInt32]? = nil) async throws {
        precondition(!ended, "a block sent to an upload that ended")
        while inFlight.count >= Self.blocksInFlightMax {
            let oldest = inFlight.removeFirst()
            acknowledged.append(try await oldest.task.value)
        }
        let client = self.client
        let fileID = self.fileID
        let replication = self.replication
        let sending = self.sending
        let task = Task {
            let source = try await BlockingIO.run { try LocalFile(readingAt: localPath) }
            defer { source.close() }
            guard source.size >= offset + length else {
                throw DFSError(.ioError, "\(localPath) holds \(source.size) bytes, short of block \(blockIndex)'s end at \(offset + length)")
            }
            return try await client.writeBlock(
                fileID: fileID, blockIndex: blockIndex, source: source, offset: offset, length: length, replication: replication,
                pieceChecksums: pieceChecksums, sending: sending)
        }
        inFlight.append((blockIndex, task))
    }

    /// Blocks sent so far (acknowledged or not).
    public var blocksSent: Int { acknowledged.count + inFlight.count }

    /// Sends the last block (`size` past the blocks sent, from `localPath`), waits for
    /// every block and completes the file: it is then on every replica and visible. `etag`
    /// and `properties`, when given, are stored with it instead of the options'.
    public func finish(size: Int, localPath: String, etag: String? = nil, properties: [String: String]? = nil) async throws -> FileInfo {
        let sentBytes = blocksSent * options.blockBytes
        precondition(size >= sentBytes && size - sentBytes <= options.blockBytes, "a streamed file's size does not match its blocks")
        if size > sentBytes {
            try await send(blockIndex: blocksSent, localPath: localPath, offset: sentBytes, length: size - sentBytes)
        }
        while !inFlight.isEmpty {
            let oldest = inFlight.removeFirst()
            acknowledged.append(try await oldest.task.value)
        }
        ended = true
        let info = try await client.complete(
            CompleteFile(
                fileID: fileID, size: size, sha256: nil, blocks: acknowledged, etag: etag ?? options.etag,
                properties: properties ?? options.properties),
            path: path)
        await client.leases.remove([fileID])
        return info
    }

    /// Stops: blocks under way are cancelled, the pending file dropped.
    public func abandon() async {
        ended = true
        for (_, task) in inFlight { task.cancel() }
        for (_, task) in inFlight { _ = try? await task.value }
        inFlight = []
        await client.leases.remove([fileID])
        await client.abandon([fileID])
    }
}
