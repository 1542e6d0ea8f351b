import DFSCore

/// The checks a write request passes before a byte of it is stored, shared by single block
/// writes, batches and the repair copies that arrive as block writes. Pure: each returns or
/// throws the error the sender gets, and the server adds only the log line and the I/O.
enum WriteGuards {
    /// A block holds 1 byte to ``Limits/blockBytesMax``.
    static func checkBlockLength(_ length: Int) throws {
        guard length >= 1, length <= Limits.blockBytesMax else {
            throw DFSError(.invalidArgument, "block length \(length) is outside 1...\(Limits.blockBytesMax)")
        }
    }

    /// The nodes after this one: fewer than ``Limits/replicationMax``, since this node is
    /// one of the replicas too.
    static func checkPipeline(_ pipeline: [NodeAddress]) throws {
        guard pipeline.count < Limits.replicationMax else {
            throw DFSError(.invalidArgument, "pipeline of \(pipeline.count) nodes is longer than \(Limits.replicationMax)")
        }
    }

    /// A batch names 1 to ``Limits/filesPerBatchMax`` distinct blocks whose lengths fill its
    /// payload exactly, and a pipeline `checkPipeline` accepts. Returns the bytes the blocks
    /// hold.
    static func checkBatch(_ request: WriteBlocks, payloadBytes: Int) throws -> Int {
        let blocks = request.blocks
        guard !blocks.isEmpty, blocks.count <= Limits.filesPerBatchMax else {
            throw DFSError(.invalidArgument, "a batch holds 1 to \(Limits.filesPerBatchMax) blocks, not \(blocks.count)")
        }
        try checkPipeline(request.pipeline)
        var total = 0
        for block in blocks {
            guard block.length >= 1, block.length <= payloadBytes - total else {
                throw DFSError(.invalidArgument, "block \(block.blockID) of \(block.length) bytes does not fit in the batch's \(payloadBytes)-byte payload")
            }
            total += block.length
        }
        guard total == payloadBytes else {
            throw DFSError(.invalidArgument, "the batch's blocks hold \(total) bytes, its payload \(payloadBytes)")
        }
        guard Set(blocks.map(\.blockID)).count == blocks.count else {
            throw DFSError(.invalidArgument, "a batch names a block twice")
        }
        return total
    }

    /// What a request asks to store, as the refusal names it.
    enum Room: Equatable {
        case block(BlockID, bytes: Int)
        case batch(blockCount: Int, bytes: Int)

        var bytes: Int {
            switch self {
            case .block(_, let bytes), .batch(_, let bytes): bytes
            }
        }
    }

    /// Why a node with `availableBytes` free above its reserve refuses `request`: the line
    /// for its log and the error for the sender; nil when the request fits.
    static func roomRefusal(
        _ request: Room, availableBytes: Int, reserveBytes: Int, nodeID: NodeID
    ) -> (log: String, error: DFSError)? {
        guard request.bytes > availableBytes else { return nil }
        let free = ByteSize.format(availableBytes)
        let full = "data node \(nodeID) is full: \(free) free above its reserve of \(ByteSize.format(reserveBytes))"
        switch request {
        case .block(let blockID, let bytes):
            return (
                "refused block \(blockID) of \(bytes) bytes: only \(free) free above the reserve",
                DFSError(.unavailable, "\(full), block \(blockID) needs \(ByteSize.format(bytes))")
            )
        case .batch(let blockCount, let bytes):
            return (
                "refused a batch of \(blockCount) blocks: only \(free) free above the reserve",
                DFSError(.unavailable, "\(full), the batch needs \(ByteSize.format(bytes))")
            )
        }
    }
}
