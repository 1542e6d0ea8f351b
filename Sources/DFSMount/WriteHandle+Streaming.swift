import DFSClient
import DFSCore

extension WriteHandle {
    /// A file written sequentially from offset 0 (new, or truncated at open) goes to the
    /// cluster as its blocks fill: each full block is sent from the staged file (still in
    /// the page cache) while the program writes the next, so the close waits only for the
    /// last block and the completion instead of the whole upload. The staged file stays
    /// whole, so that any write elsewhere, a truncate, or a failed block simply stops the
    /// streaming (the pending file is abandoned) and the close uploads the staged file as
    /// before. At most ``StreamingUpload/blocksInFlightMax`` blocks are unacknowledged per
    /// file (a write waits beyond), and every block goes from the staged file's page cache
    /// to the socket a frame at a time, so memory does not grow with the file.
    ///
    /// The CRC32C of every 64 KiB piece is computed from the written bytes as they are
    /// staged (``BlockPieceChecksums``), so a full block is sent by sendfile(2), never read
    /// back into the process: reading each block back to checksum it cost about as much CPU
    /// as staging it. A block whose bytes did not all pass through here in order (the first
    /// one after streaming restarted on a non-empty file) is read and checksummed as before.
    struct Streaming: Sendable {
        /// Creates the pending file at the path the file has when its first block fills.
        let start: @Sendable () async throws -> StreamingUpload
        let blockBytes: Int
        var upload: StreamingUpload?
        /// Blocks handed to the upload so far.
        var blocksSent = 0
        /// The piece checksums of the blocks written while streaming.
        var checksums: BlockPieceChecksums

        init(blockBytes: Int, start: @escaping @Sendable () async throws -> StreamingUpload) {
            self.blockBytes = blockBytes
            self.start = start
            self.checksums = BlockPieceChecksums(blockBytes: blockBytes)
        }
    }

    /// Sends every block the staged file has filled and not sent yet.
    func sendFilledBlocks() async {
        while let state = streaming, size >= (state.blocksSent + 1) * state.blockBytes {
            let blockIndex = state.blocksSent
            // Counted before any await, so that a write arriving meanwhile sends the next one.
            streaming?.blocksSent += 1
            let pieceChecksums = streaming?.checksums.take(blockIndex: blockIndex)
            do {
                var upload = state.upload
                if upload == nil {
                    upload = try await state.start()
                    streaming?.upload = upload
                    // Stopped while it was being created: drop it.
                    if streaming == nil, let upload { await upload.abandon() }
                }
                guard let upload, streaming != nil else { return }
                try await upload.send(
                    blockIndex: blockIndex, localPath: stagedFilePath, offset: blockIndex * state.blockBytes, length: state.blockBytes,
                    pieceChecksums: pieceChecksums)
            } catch {
                await stopStreaming("block \(blockIndex) failed: \(DFSError.wrap(error).message)")
                return
            }
        }
    }

    /// Abandons the streamed upload, if any: the next upload sends the staged file whole.
    func stopStreaming(_ reason: String?) async {
        guard let state = streaming else { return }
        streaming = nil
        if let reason { Log.debug("mount", "the file of inode \(inode) is uploaded at its close: \(reason)") }
        if let upload = state.upload { await upload.abandon() }
    }

    /// The streamed upload, for the upload starting now, if its blocks are all sent (or in
    /// flight) and it is for `path`; otherwise it is abandoned. Either way the writer goes on
    /// streaming afresh (see ``restartStreaming(after:)``).
    func takeStream(for path: DFSPath) async -> (upload: StreamingUpload?, restart: Streaming?) {
        guard let state = streaming else { return (nil, nil) }
        streaming = nil
        let restart = Streaming(blockBytes: state.blockBytes, start: state.start)
        guard let upload = state.upload else { return (nil, restart) }
        if upload.path == path, state.blocksSent == size / state.blockBytes, await upload.blocksSent == state.blocksSent {
            return (upload, restart)
        }
        await upload.abandon()
        return (nil, restart)
    }

    /// Streaming again once an upload started, when the writer was streaming until then: a
    /// close is not always the last (`dd` closes the descriptor it opened once it has
    /// duplicated it, before its first write), and the appends after it still go out as
    /// their blocks fill. The new stream starts from block 0 of the staged file, a new
    /// pending version that replaces the one just uploaded when it completes; writes wait
    /// for the upload under way, so none is sent before it ends.
    func restartStreaming(after stream: Streaming?) {
        guard let stream, streaming == nil, !closed else { return }
        streaming = stream
    }
}
