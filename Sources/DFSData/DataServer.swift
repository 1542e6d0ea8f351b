import DFSCore
import DFSNet
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `dfs serve-data`: serves block reads and writes from a folder, and keeps the meta server
/// informed of the node's space through registration and heartbeats.
public final class DataServer: Sendable {
    public struct Options: Sendable {
        public var listen: Endpoint
        public var meta: Endpoint
        public var folder: String
        /// The host clients should use; nil means the address the meta server sees.
        public var advertiseHost: String?
        /// How long to wait between attempts to reach a meta server that is down.
        public var retryInterval: Duration = .seconds(1)
        public var timeouts: Timeouts = .standard
        /// When set, every connection must prove it knows the secret, and block reads and
        /// writes need a token the meta server signed with it.
        public var secret: ClusterSecret?
        /// How often to send heartbeats; nil: what the meta server suggests when the node registers.
        public var heartbeatInterval: Duration?
        /// How often to send the full block list, besides after each registration.
        public var fullReportInterval: Duration = .seconds(600)
        /// Free disk space the node keeps for everyone else: below it, new blocks are
        /// refused and the node reports no room, so placement skips it.
        public var reserveBytes = 256 * 1024 * 1024
        /// For failure tests: the free space the node tells the meta server it has, whatever
        /// the disk says, so that placement picks a node that will refuse the block.
        public var reportedFreeBytes: Int?
        /// Bytes per second the scrubber reads to re-verify stored blocks; 0 turns it off.
        public var scrubBytesPerSecond = 16 * 1024 * 1024
        /// Rest between scrub passes.
        public var scrubInterval: Duration = .seconds(3600)
        /// For failure tests: once this many bytes of block data have arrived, the node stops
        /// at once, mid-block, as if its process had been killed.
        public var dieAfterReceivingBytes: Int?

        public init(listen: Endpoint, meta: Endpoint, folder: String, advertiseHost: String? = nil) {
            self.listen = listen
            self.meta = meta
            self.folder = folder
            self.advertiseHost = advertiseHost
        }
    }

    public let options: Options
    public let store: BlockStore
    /// Where the server listens, with the real port when port 0 was asked for.
    public let endpoint: Endpoint
    private let listener: Listener
    private let pool: ConnectionPool
    private let reporter = Mutex<Task<Void, Never>?>(nil)
    private let registered = Mutex(false)
    private let receivedBytes = Mutex(0)
    /// Frame buffers of finished block writes, for the next ones: at most one per block
    /// write the node usually has under way.
    private let payloadBuffers = PayloadBuffers(limit: Limits.blocksInFlight)
    private let copies = Mutex<[UInt64: Task<Void, Never>]>([:])
    /// The pack compaction under way, if any (at most one at a time).
    private let compaction = Mutex<Task<Void, Never>?>(nil)
    private let scrubber = Mutex<Task<Void, Never>?>(nil)
    /// Every block the scrubber has verified since start (for tests and logs).
    public let scrubbedBlocks = Mutex(0)
    /// Re-reads the blocks the meta server asks about after a client reported them.
    public let verifier: BlockVerifier

    static let component = "data"

    private init(options: Options, store: BlockStore, listener: Listener) {
        self.options = options
        self.store = store
        self.listener = listener
        self.endpoint = listener.endpoint
        self.verifier = BlockVerifier(store: store)
        self.pool = ConnectionPool(role: .dataNode, timeouts: options.timeouts, secret: options.secret)
    }

    /// Opens the folder, starts listening and starts registering with the meta server.
    public static func start(_ options: Options) async throws -> DataServer {
        let store = try BlockStore(folder: options.folder)
        let listener = try Listener(host: options.listen.host, port: options.listen.port, component: component)
        let server = DataServer(options: options, store: store, listener: listener)
        await listener.start { [server] connection in
            await FrameServer.serve(connection, role: .dataNode, component: component, timeouts: options.timeouts, secret: options.secret) { frame, connection in
                try await server.handle(frame, on: connection)
            }
        }
        server.reporter.withLock { $0 = Task { await server.reportLoop() } }
        if options.scrubBytesPerSecond > 0 {
            server.scrubber.withLock { $0 = Task { await server.scrubLoop() } }
        }
        Log.info(component, "node \(store.nodeID) serving \(store.blockCount) blocks from \(options.folder) on \(listener.endpoint)")
        return server
    }

    /// True once the meta server has accepted this node's registration.
    public var isRegistered: Bool { registered.withLock { $0 } }
    /// Block bytes received so far, counted only when `dieAfterReceivingBytes` is set (tests).
    public var plannedDeathBytes: Int { receivedBytes.withLock { $0 } }

    /// Why the last attempt to reach the meta server failed; nil after a success.
    public var lastMetaError: DFSError? { metaError.withLock { $0 } }
    private let metaError = Mutex<DFSError?>(nil)

    /// Stops serving and reporting. Blocks already stored stay in the folder.
    /// A planned stop: tells the meta server the node is leaving (so it places no new
    /// blocks here and copies none of this node's blocks elsewhere for its leave grace),
    /// lets requests under way finish for up to `grace`, then stops.
    public func leave(grace: Duration = .seconds(5)) async {
        // Heartbeats stop first, so none can arrive after the goodbye.
        await stopTask(reporter)
        let request = NodeLeaving(nodeID: store.nodeID)
        let pool = self.pool
        let meta = options.meta
        // At most a few seconds: a meta server that is down must not hold up the stop.
        let told = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await pool.request(request, to: meta, expecting: OK.self)) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if told {
            Log.info(Self.component, "told meta server \(meta) that node \(store.nodeID) is leaving")
        } else {
            Log.warn(Self.component, "could not tell meta server \(meta) that node \(store.nodeID) is leaving; it will count the node dead")
        }
        await stop(grace: grace)
    }

    /// Cancels the task `holder` keeps, if any, and waits for it to end.
    private func stopTask(_ holder: Mutex<Task<Void, Never>?>) async {
        let task = holder.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    /// Stops serving and reporting, as a crash would look from outside (no goodbye).
    /// Requests under way get `grace` to finish. Blocks already stored stay in the folder.
    public func stop(grace: Duration = .zero) async {
        await stopTask(reporter)
        await stopTask(scrubber)
        await verifier.stop()
        for copy in copies.withLock({ Array($0.values) }) {
            copy.cancel()
            await copy.value
        }
        if let running = compaction.withLock({ $0 }) { await running.value }
        await listener.close(grace: grace)
        await pool.closeAll()
    }

    // MARK: Requests

    /// With a cluster secret, a block is read or written only with the meta server's token
    /// for exactly that block and operation: knowing a block id is not enough.
    private func checkToken(_ token: String?, _ blockID: BlockID, _ operation: BlockAccess) throws {
        guard let secret = options.secret else { return }
        do {
            try secret.checkBlockToken(token, blockID, operation, now: Date().timeIntervalSince1970)
        } catch {
            Log.warn(Self.component, "refused \(operation.rawValue) of block \(blockID): \(error.message)")
            throw error
        }
    }

    private func handle(_ frame: Frame, on connection: Connection) async throws {
        switch frame.type {
        case MessageType.writeBlock.rawValue:
            do {
                try await writeBlock(frame.decode(WriteBlock.self), on: connection)
            } catch let error as DFSError where error.code != .connectionFailed && error.code != .timeout {
                // The sender streams the block right behind its request: after a refusal (of
                // a request with a bad value too) those frames cannot be read as requests, so
                // the connection ends after the reply.
                try? await connection.send(ErrorMessage(error), timeout: .seconds(1))
                await connection.close()
                throw DFSError(.connectionFailed, "write of a block refused: \(error.message)")
            }
        case MessageType.readBlock.rawValue:
            try await readBlock(frame.decode(ReadBlock.self), on: connection)
        case MessageType.writeBlocks.rawValue:
            // The blocks travel in the request's own payload: a refusal leaves the
            // connection in step, and the error reply is all the sender needs.
            let request = try frame.decode(WriteBlocks.self)
            // While the batch is flushed here and answered by the nodes after this one, the
            // sender hears progress (naming the batch's first block), as for `writeBlock`: a
            // slow flush is told apart from a hung node.
            let reply = try await connection.sendingProgress(
                for: request.blocks[0].blockID, every: options.timeouts.progressInterval, limit: options.timeouts.request,
                timeout: options.timeouts.stall
            ) { try await self.writeBlocks(request, payload: frame.payload) }
            try await connection.send(reply, timeout: options.timeouts.request)
        default:
            throw DFSError(.protocolError, "a data node does not serve '\(frame.type)' messages")
        }
    }

    /// Receives a block's data frames into a temp file, verifying every piece's checksum, and,
    /// if this node is not the last in the pipeline, forwards each frame to the next node as it
    /// arrives. Acknowledges once the block is fsynced here and the rest of the pipeline has
    /// answered; a downstream node that fails is named in `failed`, and the write goes on.
    private func writeBlock(_ request: WriteBlock, on connection: Connection) async throws {
        guard request.length >= 1, request.length <= Limits.blockBytesMax else {
            throw DFSError(.invalidArgument, "block length \(request.length) is outside 1...\(Limits.blockBytesMax)")
        }
        guard request.pipeline.count < Limits.replicationMax else {
            throw DFSError(.invalidArgument, "pipeline of \(request.pipeline.count) nodes is longer than \(Limits.replicationMax)")
        }
        try checkToken(request.token, request.blockID, .write)
        let available = availableBytes
        guard request.length <= available else {
            Log.warn(Self.component, "refused block \(request.blockID) of \(request.length) bytes: only \(ByteSize.format(available)) free above the reserve")
            throw DFSError(.unavailable, "data node \(store.nodeID) is full: \(ByteSize.format(available)) free above its reserve of \(ByteSize.format(options.reserveBytes)), block \(request.blockID) needs \(ByteSize.format(request.length))")
        }
        // Refused when the block is here already or being written (`alreadyExists`).
        let writer = try store.makeWriter(for: request.blockID, length: request.length)
        defer {
            if writer.writtenBytes < request.length { writer.abort() }
        }
        var downstream: Connection?
        var failed: [NodeID] = []
        // Those of `failed` that stopped answering, as opposed to refusing or dropping.
        var stalled: [NodeID] = []
        // On every way out, the next node must hear that this write is over, or it would
        // wait for the rest of the block until its timeout.
        defer {
            if let next = downstream { Task { await next.close() } }
        }
        if let next = request.pipeline.first {
            do {
                downstream = try await openDownstream(next, request: request)
            } catch {
                failed.append(next.nodeID)
                if Self.isStall(error) { stalled.append(next.nodeID) }
            }
        }
        let timeout = options.timeouts.request
        // The next node must take each frame, and answer at the end, within its stall time
        // (longer the more nodes follow it): a hung node is named in `failed` in seconds.
        let downstreamStall = options.timeouts.stall(behind: request.pipeline.count)
        // Each frame's buffer, once written and forwarded, takes the next one; the last goes
        // back to the node's spares for the next block.
        var spare = payloadBuffers.take()
        defer { payloadBuffers.give(spare.take()) }
        while writer.writtenBytes < request.length {
            guard let frame = try await connection.readFrame(timeout: timeout, reusing: spare.take()) else {
                throw DFSError(.connectionFailed, "\(connection.peer) closed the connection after \(writer.writtenBytes) of \(request.length) bytes of block \(request.blockID)")
            }
            let data = try frame.decode(BlockData.self)
            let payload = frame.payload
            try await dieIfPlanned(adding: payload.count)
            try await BlockingIO.run { try writer.append(payload, checksums: data) }
            if let next = downstream {
                do {
                    try await next.send(data, payload: payload, timeout: downstreamStall)
                } catch {
                    Log.warn(Self.component, "pipeline to \(next.name) failed for block \(request.blockID): \(DFSError.wrap(error).message)")
                    await next.close()
                    downstream = nil
                    failed.append(request.pipeline[0].nodeID)
                    if Self.isStall(error) { stalled.append(request.pipeline[0].nodeID) }
                }
            }
            spare = payload
        }
        // The last buffer is free for other blocks while this one is flushed.
        payloadBuffers.give(spare.take())
        var stored = [store.nodeID]
        // While the block is flushed here and the nodes after this one answer, the upstream
        // hears progress every second: a slow flush is not a hung node.
        let next = downstream
        let answered = try await connection.sendingProgress(
            for: request.blockID, every: options.timeouts.progressInterval, limit: timeout, timeout: options.timeouts.stall
        ) { () async throws -> (stored: [NodeID], failed: [NodeID], stalled: [NodeID]) in
            try await writer.commit()
            guard let next else { return ([], [], []) }
            do {
                let reply = try await next.readWriteBlockReply(request.blockID, stall: downstreamStall, deadline: .now + timeout)
                if reply.checksum == writer.checksum { return (reply.stored, reply.failed, reply.stalled ?? []) }
            } catch {
                Log.warn(Self.component, "pipeline to \(next.name) failed for block \(request.blockID): \(DFSError.wrap(error).message)")
                if Self.isStall(error) { return ([], [request.pipeline[0].nodeID], [request.pipeline[0].nodeID]) }
            }
            return ([], [request.pipeline[0].nodeID], [])
        }
        stored += answered.stored
        failed += answered.failed
        stalled += answered.stalled
        if let next {
            await next.close()
            downstream = nil
        }
        try await connection.send(
            WriteBlockOK(
                blockID: request.blockID, length: request.length, checksum: writer.checksum, stored: stored, failed: failed,
                stalled: stalled.isEmpty ? nil : stalled),
            timeout: timeout)
    }

    /// Stores a batch of whole small blocks that arrived in one frame: every block is checked
    /// against its piece checksums and the batch is written as one pack (one file, one flush,
    /// one rename, in a pass of the group sync), while the same request goes on to the next
    /// node of the pipeline. All or nothing on this node.
    private func writeBlocks(_ request: WriteBlocks, payload: [UInt8]) async throws -> WriteBlocksOK {
        guard !request.blocks.isEmpty, request.blocks.count <= Limits.filesPerBatchMax else {
            throw DFSError(.invalidArgument, "a batch holds 1 to \(Limits.filesPerBatchMax) blocks, not \(request.blocks.count)")
        }
        guard request.pipeline.count < Limits.replicationMax else {
            throw DFSError(.invalidArgument, "pipeline of \(request.pipeline.count) nodes is longer than \(Limits.replicationMax)")
        }
        var total = 0
        for block in request.blocks {
            guard block.length >= 1, block.length <= payload.count - total else {
                throw DFSError(.invalidArgument, "block \(block.blockID) of \(block.length) bytes does not fit in the batch's \(payload.count)-byte payload")
            }
            total += block.length
        }
        guard total == payload.count else {
            throw DFSError(.invalidArgument, "the batch's blocks hold \(total) bytes, its payload \(payload.count)")
        }
        guard Set(request.blocks.map(\.blockID)).count == request.blocks.count else {
            throw DFSError(.invalidArgument, "a batch names a block twice")
        }
        for block in request.blocks { try checkToken(block.token, block.blockID, .write) }
        let available = availableBytes
        guard total <= available else {
            Log.warn(Self.component, "refused a batch of \(request.blocks.count) blocks: only \(ByteSize.format(available)) free above the reserve")
            throw DFSError(.unavailable, "data node \(store.nodeID) is full: \(ByteSize.format(available)) free above its reserve of \(ByteSize.format(options.reserveBytes)), the batch needs \(ByteSize.format(total))")
        }
        // Refused when a block is here already or being written (`alreadyExists`).
        let blockIDs = request.blocks.map(\.blockID)
        try store.claim(blockIDs)
        defer { store.release(blockIDs) }
        try await dieIfPlanned(adding: payload.count)
        // The next node works on the batch while this one does.
        let forwarding = request.pipeline.first.map { next in
            Task { await self.forward(request, payload: payload, to: next) }
        }
        let entries: [PackFile.Entry]
        do {
            entries = try await store.storePack(request.blocks, payload: payload)
        } catch {
            forwarding?.cancel()
            throw error
        }
        let checksums = entries.map(\.checksum)
        var stored = [store.nodeID]
        var failed: [NodeID] = []
        var stalled: [NodeID] = []
        if let forwarding, let next = request.pipeline.first {
            switch await forwarding.value {
            case .success(let reply) where reply.checksums == checksums:
                stored += reply.stored
                failed += reply.failed
                stalled += reply.stalled ?? []
            case .success:
                failed.append(next.nodeID)
            case .failure(let error):
                failed.append(next.nodeID)
                if Self.isStall(error) { stalled.append(next.nodeID) }
            }
        }
        return WriteBlocksOK(checksums: checksums, stored: stored, failed: failed, stalled: stalled.isEmpty ? nil : stalled)
    }

    /// Sends a batch on to the next node of its pipeline: its reply, or why it failed.
    private func forward(_ request: WriteBlocks, payload: [UInt8], to next: NodeAddress) async -> Result<WriteBlocksOK, DFSError> {
        do {
            // A hung node never answers hello: its stall time bounds the wait.
            let stall = options.timeouts.stall(behind: request.pipeline.count)
            let connection = try await Connection.open(
                to: next.address, role: .dataNode, timeout: min(options.timeouts.connect, stall), handshake: stall, secret: options.secret)
            defer { Task { await connection.close() } }
            let forwarded = WriteBlocks(blocks: request.blocks, pipeline: Array(request.pipeline.dropFirst()))
            // The frame must be taken, and progress or the answer must come, within the stall
            // time: a node that stopped answering is named failed in seconds.
            try await connection.send(forwarded, payload: payload, timeout: stall)
            return .success(try await connection.readReply(
                WriteBlocksOK.self, progressFor: request.blocks[0].blockID, stall: stall, deadline: .now + options.timeouts.request))
        } catch {
            Log.warn(Self.component, "pipeline to \(next.address) failed for a batch of \(request.blocks.count) blocks: \(DFSError.wrap(error).message)")
            return .failure(DFSError.wrap(error))
        }
    }

    /// A downstream failure that means the node stopped answering (a timeout), not that it
    /// refused, dropped the connection or is down.
    static func isStall(_ error: any Error) -> Bool {
        DFSError.wrap(error).code == .timeout
    }

    private func dieIfPlanned(adding bytes: Int) async throws {
        guard let limit = options.dieAfterReceivingBytes else { return }
        let total = receivedBytes.withLock { total in
            total += bytes
            return total
        }
        guard total >= limit else { return }
        Log.warn(Self.component, "node \(store.nodeID) dying as planned after \(total) bytes")
        let server = self
        Task { await server.stop() }
        throw DFSError(.connectionFailed, "node died")
    }

    private func openDownstream(_ next: NodeAddress, request: WriteBlock) async throws -> Connection {
        // A hung node accepts the connection but never answers hello: its stall time, not
        // the handshake's 10 s, bounds the wait.
        let stall = options.timeouts.stall(behind: request.pipeline.count)
        let connection = try await Connection.open(
            to: next.address, role: .dataNode, timeout: min(options.timeouts.connect, stall), handshake: stall, secret: options.secret)
        do {
            let forwarded = WriteBlock(blockID: request.blockID, length: request.length, pipeline: Array(request.pipeline.dropFirst()), token: request.token)
            try await connection.send(forwarded, timeout: stall)
            return connection
        } catch {
            Log.warn(Self.component, "cannot forward block \(request.blockID) to \(next.address): \(DFSError.wrap(error).message)")
            await connection.close()
            throw error
        }
    }

    /// Streams a range of a block in frames of at most ``Limits/readFrameBytes``, each with
    /// the stored checksums of its pieces. Whole pieces go from the page cache to the socket
    /// by sendfile(2), unread by this process: the reader checks every piece against the
    /// checksums that come with it (as HDFS readers do), reports a mismatch to the meta
    /// server and reads another replica. A range that ends inside a piece has its last piece
    /// read and checked here, since that piece needs a checksum of its own.
    private func readBlock(_ request: ReadBlock, on connection: Connection) async throws {
        try checkToken(request.token, request.blockID, .read)
        let source = try store.openForReading(request.blockID)
        defer { close(source.fd) }
        let blockLength = source.length
        let stored = try storedChecksums(request.blockID, length: blockLength)
        guard request.offset >= 0, request.offset <= blockLength, request.offset % Limits.checksumChunkBytes == 0 else {
            throw DFSError(.invalidArgument, "offset \(request.offset) is not a multiple of 64 KiB inside block \(request.blockID) of \(blockLength) bytes")
        }
        // Both are in 0...blockBytesMax (ReadBlock.validate), and the offset is inside the
        // block: nothing here can overflow.
        let length = request.length ?? (blockLength - request.offset)
        guard length >= 0, length <= blockLength - request.offset else {
            throw DFSError(.invalidArgument, "range \(request.offset)+\(length) is outside block \(request.blockID) of \(blockLength) bytes")
        }
        let timeout = options.timeouts.request
        try await connection.send(ReadBlockOK(blockID: request.blockID, blockLength: blockLength, length: length), timeout: timeout)
        let piece = Limits.checksumChunkBytes
        var sent = 0
        while sent < length {
            try Task.checkCancellation()
            let offset = request.offset + sent
            let count = min(Limits.readFrameBytes, length - sent)
            if count % piece != 0 && offset + count < blockLength {
                // The range ends inside a piece: read, check and checksum it here.
                let (bytes, checksums) = try await readVerifiedPieces(request.blockID, source: source, offset: offset, count: count, stored: stored)
                try await connection.send(BlockData(checksums: checksums), payload: bytes, timeout: timeout)
            } else {
                let first = offset / piece
                let pieces = (count + piece - 1) / piece
                guard first + pieces <= stored.chunkChecksums.count else {
                    store.reportCorrupt(request.blockID)
                    throw DFSError(.checksumMismatch, "block \(request.blockID) on node \(store.nodeID) has fewer checksums than pieces")
                }
                let checksums = Array(stored.chunkChecksums[first..<(first + pieces)])
                do {
                    try await connection.send(BlockData(checksums: checksums), file: source.fd, offset: source.offset + offset, count: count, timeout: timeout)
                } catch let error as DFSError where error.code == .ioError {
                    // The block file is shorter than its checksums say.
                    store.reportCorrupt(request.blockID)
                    throw error
                }
            }
            sent += count
        }
    }

    /// The block's stored checksums, which must describe a block of this length.
    private func storedChecksums(_ blockID: BlockID, length: Int) throws -> ChecksumFile {
        do {
            let stored = try store.checksums(of: blockID)
            guard stored.blockLength == length else {
                throw DFSError(.checksumMismatch, "block \(blockID) on node \(store.nodeID) has \(length) bytes; its checksums cover \(stored.blockLength)")
            }
            return stored
        } catch let error as DFSError where error.code == .checksumMismatch {
            store.reportCorrupt(blockID)
            throw error
        }
    }

    /// Reads `count` bytes at `offset` (a multiple of 64 KiB), checking every whole piece
    /// they touch against the stored checksums. A mismatch is reported and thrown.
    /// Reads `count` bytes at `offset` (a multiple of 64 KiB) and checks every piece against
    /// the checksums stored beside the block. Returns the bytes with the checksums of their
    /// pieces, ready to send: the verified stored values, so nothing is computed twice.
    private func readVerifiedPieces(
        _ blockID: BlockID, source: BlockSource, offset: Int, count: Int, stored: ChecksumFile
    ) async throws -> (bytes: [UInt8], checksums: [UInt32]) {
        let fd = source.fd
        let start = source.offset + offset
        let pieceStart = offset / Limits.checksumChunkBytes
        let readCount = min(stored.blockLength - offset, (count + Limits.checksumChunkBytes - 1) / Limits.checksumChunkBytes * Limits.checksumChunkBytes)
        var bytes = try await BlockingIO.run { try Self.readChunk(fd: fd, offset: start, count: readCount) }
        let actual = BlockData.checksums(of: bytes)
        guard pieceStart + actual.count <= stored.chunkChecksums.count,
            actual == Array(stored.chunkChecksums[pieceStart..<(pieceStart + actual.count)])
        else {
            Log.warn(Self.component, "block \(blockID) is corrupt near offset \(offset); reporting it")
            store.reportCorrupt(blockID)
            throw DFSError(.checksumMismatch, "block \(blockID) on node \(store.nodeID) is corrupt near offset \(offset)")
        }
        if readCount > count {
            // A range that ends inside a piece: the cut piece needs its own checksum.
            bytes.removeLast(readCount - count)
            return (bytes, BlockData.checksums(of: bytes))
        }
        return (bytes, actual)
    }

    /// pread(2) exactly `count` bytes; a block file shorter than its index says is an error.
    static func readChunk(fd: Int32, offset: Int, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let result = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else {
                    throw DFSError(.ioError, "block file ended early or could not be read at \(offset + done)")
                }
                done += result
            }
            initialized = count
        }
    }

    // MARK: Registration, block reports and heartbeats

    /// Registers with the meta server and sends the full block list, then sends heartbeats
    /// (with block changes) and carries out the commands in their replies; starts over
    /// whenever the meta server cannot be reached or has forgotten this node. Runs until the
    /// server stops.
    private func reportLoop() async {
        var loggedFailure = false
        while !Task.isCancelled {
            do {
                let suggested = try await register()
                let interval = options.heartbeatInterval ?? suggested
                try await sendFullReport()
                registered.withLock { $0 = true }
                metaError.withLock { $0 = nil }
                loggedFailure = false
                try await heartbeatUntilForgotten(interval: interval)
            } catch is CancellationError {
                return
            } catch {
                registered.withLock { $0 = false }
                if Task.isCancelled { return }
                let failure = DFSError.wrap(error)
                metaError.withLock { $0 = failure }
                if !loggedFailure {
                    Log.warn(Self.component, "cannot reach meta server \(options.meta): \(failure.message); retrying every \(options.retryInterval)")
                    loggedFailure = true
                }
                try? await Task.sleep(for: options.retryInterval)
            }
        }
    }

    /// Free bytes new blocks may use: the file system's free space less the reserve.
    var availableBytes: Int { max(0, store.freeBytes - options.reserveBytes) }

    /// What the node offers: its blocks plus the space it may still fill. A full node reports
    /// capacity equal to used, and placement passes it by. At most ``Limits/nodeBytesMax``,
    /// which the meta server refuses to exceed.
    private var capacityBytes: Int {
        min(Limits.nodeBytesMax, store.usedBytes + min(Limits.nodeBytesMax, options.reportedFreeBytes ?? availableBytes))
    }

    private func register() async throws -> Duration {
        let request = RegisterNode(
            nodeID: store.nodeID, host: options.advertiseHost ?? advertisedListenHost, port: endpoint.port,
            capacityBytes: capacityBytes, usedBytes: store.usedBytes, blockCount: store.blockCount)
        let reply = try await pool.request(request, to: options.meta, expecting: RegisterNodeOK.self)
        Log.info(Self.component, "registered with meta server \(options.meta) as \(reply.address)")
        return .milliseconds(max(50, reply.heartbeatMilliseconds))
    }

    /// The node's whole block list, in pages. Changes recorded before it are moot: the list
    /// says where everything stands.
    private func sendFullReport() async throws {
        store.clearAddedAndDeleted()
        let blocks = store.summaries
        let reportID = UInt64.random(in: 1...UInt64.max)
        var start = 0
        repeat {
            let page = Array(blocks[start..<min(start + BlockReport.blocksPerPage, blocks.count)])
            start += page.count
            let report = BlockReport(nodeID: store.nodeID, reportID: reportID, blocks: page, last: start >= blocks.count)
            _ = try await pool.request(report, to: options.meta, expecting: OK.self)
        } while start < blocks.count
    }

    /// The listen host when it names one interface; nil for a wildcard, so the meta server
    /// uses the address it sees the node connect from.
    private var advertisedListenHost: String? {
        let host = options.listen.host
        return host.isEmpty || host == "0.0.0.0" || host == "::" ? nil : host
    }

    private func heartbeatUntilForgotten(interval: Duration) async throws {
        var lastFullReport = ContinuousClock.now
        while true {
            try await Task.sleep(for: interval)
            if ContinuousClock.now - lastFullReport >= options.fullReportInterval {
                try await sendFullReport()
                lastFullReport = .now
            }
            let changes = store.takeChanges(limit: Heartbeat.changesMax)
            let beat = Heartbeat(
                nodeID: store.nodeID, capacityBytes: capacityBytes, usedBytes: store.usedBytes,
                blockCount: store.blockCount, copiesInFlight: copies.withLock { $0.count },
                added: changes.added, deleted: changes.deleted, corrupt: changes.corrupt,
                verified: changes.verified.isEmpty ? nil : changes.verified)
            let reply: HeartbeatOK
            do {
                reply = try await pool.request(beat, to: options.meta, expecting: HeartbeatOK.self)
            } catch {
                store.restoreChanges(changes)
                throw error
            }
            if reply.registerAgain {
                store.restoreChanges(changes)
                return
            }
            for blockID in reply.deleteBlocks { store.delete(blockID) }
            if !reply.deleteBlocks.isEmpty { startCompaction() }
            for command in reply.copyBlocks.prefix(64) { startCopy(command) }
            verifier.enqueue(Array((reply.verifyBlocks ?? []).prefix(HeartbeatOK.verifyBlocksMax)))
        }
    }

    // MARK: Copies for repair

    /// Rewrites packs that deletions left at least half empty, in the background, one
    /// compaction at a time.
    private func startCompaction() {
        guard !store.packsToCompact.isEmpty else { return }
        let store = self.store
        compaction.withLock { running in
            guard running == nil else { return }
            running = Task { [compaction] in
                // Deletions that come after the last look (their own start found this task
                // running) are taken by another round; packs that cannot be compacted are not
                // tried again here.
                var failed = Set<String>()
                while true {
                    failed = await store.compactPacks(skipping: failed)
                    let done = compaction.withLock { running -> Bool in
                        guard store.packsToCompact.allSatisfy({ failed.contains($0) }) else { return false }
                        running = nil
                        return true
                    }
                    if done { return }
                }
            }
        }
    }

    private func startCopy(_ command: CopyBlockCommand) {
        let key = UInt64.random(in: 0...UInt64.max)
        let server = self
        copies.withLock { running in
            running[key] = Task {
                do {
                    try await server.copy(command)
                } catch {
                    Log.warn(Self.component, "copy of block \(command.blockID) to \(command.target.address) failed: \(DFSError.wrap(error).message)")
                }
                _ = server.copies.withLock { $0.removeValue(forKey: key) }
            }
        }
    }

    /// Sends a block to another node, verifying every piece on the way out; the target
    /// verifies it again as it arrives and reports the block to the meta server.
    private func copy(_ command: CopyBlockCommand) async throws {
        let source = try store.openForReading(command.blockID)
        defer { close(source.fd) }
        let blockLength = source.length
        let stored = try storedChecksums(command.blockID, length: blockLength)
        let timeout = options.timeouts.request
        // A hung target never answers hello: the copy gives up within the stall time.
        let stall = options.timeouts.stall
        let connection = try await Connection.open(
            to: command.target.address, role: .dataNode, timeout: min(options.timeouts.connect, stall), handshake: stall, secret: options.secret)
        defer { Task { await connection.close() } }
        try await connection.send(WriteBlock(blockID: command.blockID, length: blockLength, token: command.token), timeout: timeout)
        var sent = 0
        while sent < blockLength {
            try Task.checkCancellation()
            let count = min(Limits.chunkBytes, blockLength - sent)
            let (bytes, checksums) = try await readVerifiedPieces(command.blockID, source: source, offset: sent, count: count, stored: stored)
            try await connection.send(BlockData(checksums: checksums), payload: bytes, timeout: timeout)
            sent += count
        }
        let reply = try await connection.readWriteBlockReply(command.blockID, stall: stall, deadline: .now + timeout)
        guard reply.checksum == stored.blockChecksum else {
            throw DFSError(.checksumMismatch, "\(command.target.address) stored block \(command.blockID) with another checksum")
        }
        Log.info(Self.component, "copied block \(command.blockID) to \(command.target.address)")
    }

    // MARK: Scrubbing

    /// Re-reads every block at a bounded rate, checking it against its stored checksums, so a
    /// replica that rots on disk is found and replaced before a reader needs it.
    private func scrubLoop() async {
        let rate = Double(options.scrubBytesPerSecond)
        while !Task.isCancelled {
            let passStarted = ContinuousClock.now
            let blocks = store.summaries
            if blocks.isEmpty {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                continue
            }
            for block in blocks {
                guard !Task.isCancelled else { return }
                let started = ContinuousClock.now
                do {
                    let source = try store.openForReading(block.blockID)
                    defer { close(source.fd) }
                    let length = source.length
                    let stored = try storedChecksums(block.blockID, length: length)
                    var offset = 0
                    while offset < length {
                        let count = min(Limits.chunkBytes, length - offset)
                        _ = try await readVerifiedPieces(block.blockID, source: source, offset: offset, count: count, stored: stored)
                        offset += count
                        // Sleep off the time these bytes are owed at the allowed rate.
                        let owed = Double(offset) / rate - (ContinuousClock.now - started).seconds
                        if owed > 0 { try await Task.sleep(for: .milliseconds(Int(owed * 1000))) }
                    }
                    scrubbedBlocks.withLock { $0 += 1 }
                } catch is CancellationError {
                    return
                } catch {
                    // Deleted meanwhile, or corrupt (already reported): go on with the next.
                }
            }
            Log.debug(Self.component, "scrubbed \(blocks.count) blocks in \(ContinuousClock.now - passStarted)")
            do { try await Task.sleep(for: options.scrubInterval) } catch { return }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
