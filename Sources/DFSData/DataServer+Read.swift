import DFSCore
import DFSNet
import DFSSystem

extension DataServer {
    /// Streams a range of a block in frames of at most ``Limits/readFrameBytes``, each with
    /// the stored checksums of its pieces. Whole pieces go from the page cache to the socket
    /// by sendfile(2), unread by this process: the reader checks every piece against the
    /// checksums that come with it (as HDFS readers do), reports a mismatch to the meta
    /// server and reads another replica. A range that ends inside a piece has its last piece
    /// read and checked here, since that piece needs a checksum of its own.
    func readBlock(_ request: ReadBlock, on connection: Connection) async throws {
        try checkToken(request.token, request.blockID, .read)
        let source = try await store.open(request.blockID)
        defer { source.close() }
        let blockLength = source.length
        let stored = try await reader.storedChecksums(request.blockID, length: blockLength)
        guard request.offset >= 0, request.offset <= blockLength, request.offset % Limits.pieceBytes == 0 else {
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
        let piece = Limits.pieceBytes
        var sent = 0
        while sent < length {
            try Task.checkCancellation()
            let offset = request.offset + sent
            let count = min(Limits.readFrameBytes, length - sent)
            if count % piece != 0 && offset + count < blockLength {
                // The range ends inside a piece: read, check and checksum it here.
                let (bytes, checksums) = try await reader.readVerifiedPieces(request.blockID, source: source, offset: offset, count: count, stored: stored)
                try await connection.send(BlockData(checksums: checksums), payload: bytes, timeout: timeout)
            } else {
                let first = offset / piece
                let pieces = (count + piece - 1) / piece
                guard first + pieces <= stored.pieceChecksums.count else {
                    store.reportCorrupt(request.blockID)
                    throw DFSError(.checksumMismatch, "block \(request.blockID) on node \(store.nodeID) has fewer checksums than pieces")
                }
                let checksums = Array(stored.pieceChecksums[first..<(first + pieces)])
                do {
                    try await connection.send(BlockData(checksums: checksums), file: source.fd, offset: source.offset + offset, count: count, timeout: timeout)
                } catch let error as DFSError where error.code == .ioError {
                    // The block file is shorter than its checksums say.
                    store.reportCorrupt(request.blockID)
                    throw error
                }
            }
            sent += count
            store.metrics.sent(count)
        }
    }
}

extension DataServer {
    /// Serves a batch of whole small blocks in one reply: each block's bytes one after
    /// another in the payload, with the checksums of its pieces, read and checked here
    /// (``BlockStore/readWholeBlocks(_:bytesMax:)``); the reader checks them again. A
    /// block this node cannot serve (a bad token, not here, corrupt, past the reply's
    /// ``Limits/payloadBytesMax``) fails alone, and the reader reads it elsewhere.
    func readBlocks(_ request: ReadBlocks, on connection: Connection) async throws {
        var outcomes = [ReadBlocksOK.Outcome?](repeating: nil, count: request.blocks.count)
        var wanted: [(position: Int, blockID: BlockID)] = []
        for (position, block) in request.blocks.enumerated() {
            do {
                try checkToken(block.token, block.blockID, .read)
                wanted.append((position, block.blockID))
            } catch {
                outcomes[position] = .failed(DFSError.wrap(error))
            }
        }
        let store = self.store
        let blockIDs = wanted.map(\.blockID)
        let read = try await BlockingIO.run { store.readWholeBlocks(blockIDs, bytesMax: Limits.payloadBytesMax) }
        for (index, outcome) in read.outcomes.enumerated() { outcomes[wanted[index].position] = outcome }
        let reply = ReadBlocksOK(blocks: outcomes.map { $0 ?? .failed(DFSError(.internalError, "block not read")) })
        try await connection.send(reply, payload: read.payload, timeout: options.timeouts.request)
        store.metrics.sent(read.payload.count)
        batchReads.withLock { $0 += 1 }
    }
}
