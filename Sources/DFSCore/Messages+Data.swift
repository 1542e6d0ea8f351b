/// Starts a block write. `length` bytes follow in `blockData` frames.
public struct WriteBlock: Message {
    public static let type = MessageType.writeBlock
    public var blockID: BlockID
    public var length: Int
    /// The nodes after this one in the write pipeline, which this node forwards the block to.
    public var pipeline: [NodeAddress]
    /// The meta server's permission to write this block, when the cluster has a secret;
    /// forwarded unchanged down the pipeline.
    public var token: String?
    public init(blockID: BlockID, length: Int, pipeline: [NodeAddress] = [], token: String? = nil) {
        self.blockID = blockID
        self.length = length
        self.pipeline = pipeline
        self.token = token
    }
}

/// The block is on disk (fsynced) on this node, its checksums verified, and on every node
/// after it in the pipeline that did not fail.
public struct WriteBlockOK: Message {
    public static let type = MessageType.writeBlockOK
    public var blockID: BlockID
    public var length: Int
    /// CRC32C of the whole block as this node stored it.
    public var checksum: UInt32
    /// Every node that stored the block, this one first.
    public var stored: [NodeID]
    /// Pipeline nodes after this one that failed, so the client can replace them.
    public var failed: [NodeID]
    /// Those of `failed` that stopped answering (no progress within their stall time), as
    /// opposed to refusing or dropping the connection: a hung node, which the client avoids
    /// and reports, where a node that is down is left to the meta server's liveness.
    public var stalled: [NodeID]?
    public init(blockID: BlockID, length: Int, checksum: UInt32, stored: [NodeID], failed: [NodeID] = [], stalled: [NodeID]? = nil) {
        self.stalled = stalled
        self.blockID = blockID
        self.length = length
        self.checksum = checksum
        self.stored = stored
        self.failed = failed
    }
}

/// One block of a ``WriteBlocks`` batch.
public struct BatchBlock: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var length: Int
    /// CRC32C of each 64 KiB piece of the block, in order.
    public var checksums: [UInt32]
    /// The meta server's permission to write this block, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, length: Int, checksums: [UInt32], token: String? = nil) {
        self.blockID = blockID
        self.length = length
        self.checksums = checksums
        self.token = token
    }
}

/// Writes several whole small blocks at once: the frame's payload is their bytes, one after
/// another in the order of `blocks` (at most ``Limits/payloadBytesMax`` in all, at most
/// ``Limits/filesPerBatchMax`` blocks). The node stores all of them or none, forwards the
/// same request to the rest of `pipeline`, and answers `writeBlocksOK` once every block is on
/// disk here. For many small files this is one request and one group flush instead of one
/// of each per block.
public struct WriteBlocks: Message {
    public static let type = MessageType.writeBlocks
    public var blocks: [BatchBlock]
    public var pipeline: [NodeAddress]
    public init(blocks: [BatchBlock], pipeline: [NodeAddress] = []) {
        self.blocks = blocks
        self.pipeline = pipeline
    }
}

/// Every block of the batch is on disk (fsynced) on the nodes in `stored`.
public struct WriteBlocksOK: Message {
    public static let type = MessageType.writeBlocksOK
    /// CRC32C of each whole block as this node stored it, in the request's order.
    public var checksums: [UInt32]
    /// Every node that stored the whole batch, this one first.
    public var stored: [NodeID]
    /// Pipeline nodes after this one that failed.
    public var failed: [NodeID]
    /// Those of `failed` that stopped answering (see ``WriteBlockOK/stalled``).
    public var stalled: [NodeID]?
    public init(checksums: [UInt32], stored: [NodeID], failed: [NodeID] = [], stalled: [NodeID]? = nil) {
        self.stalled = stalled
        self.checksums = checksums
        self.stored = stored
        self.failed = failed
    }
}

/// Asks for `length` bytes of a block from `offset`; nil length means to the end. The offset
/// is a multiple of ``Limits/pieceBytes``, so every piece sent can be verified; a
/// request without one reads from the start.
public struct ReadBlock: Message {
    public static let type = MessageType.readBlock
    public var blockID: BlockID
    public var offset: Int
    public var length: Int?
    /// The meta server's permission to read this block, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, offset: Int = 0, length: Int? = nil, token: String? = nil) {
        self.blockID = blockID
        self.offset = offset
        self.length = length
        self.token = token
    }

    private enum CodingKeys: String, CodingKey { case blockID, offset, length, token }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        blockID = try container.decode(BlockID.self, forKey: .blockID)
        offset = try container.decodeIfPresent(Int.self, forKey: .offset) ?? 0
        length = try container.decodeIfPresent(Int.self, forKey: .length)
        token = try container.decodeIfPresent(String.self, forKey: .token)
    }
}

/// The read is served: `length` bytes follow in `blockData` frames.
public struct ReadBlockOK: Message {
    public static let type = MessageType.readBlockOK
    public var blockID: BlockID
    /// The whole block's length on this node.
    public var blockLength: Int
    /// Bytes that follow.
    public var length: Int
    public init(blockID: BlockID, blockLength: Int, length: Int) {
        self.blockID = blockID
        self.blockLength = blockLength
        self.length = length
    }
}

/// A piece of block data; the bytes are the frame's payload.
///
/// `checksums` holds the CRC32C of each ``Limits/pieceBytes`` piece of the payload,
/// in order (the last may be shorter). Every frame but a block's last carries a whole number
/// of pieces, so every piece lies within one frame and the pieces of a block are the same
/// whichever frames carried it.
public struct BlockData: Message {
    public static let type = MessageType.blockData
    public var checksums: [UInt32]
    public init(checksums: [UInt32] = []) { self.checksums = checksums }

    /// The checksums of `payload`'s pieces.
    public static func checksums(of payload: UnsafeRawBufferPointer) -> [UInt32] {
        stride(from: 0, to: payload.count, by: Limits.pieceBytes).map { start in
            var crc = CRC32C()
            crc.update(UnsafeRawBufferPointer(rebasing: payload[start..<min(start + Limits.pieceBytes, payload.count)]))
            return crc.value
        }
    }

    public static func checksums(of payload: [UInt8]) -> [UInt32] {
        payload.withUnsafeBytes { checksums(of: $0) }
    }

    /// Throws `checksumMismatch` unless `payload`'s pieces have these checksums. Returns
    /// the checksum of the whole payload, combined from its pieces'.
    @discardableResult
    public func verify(_ payload: [UInt8], what: @autoclosure () -> String) throws(DFSError) -> UInt32 {
        let actual = Self.checksums(of: payload)
        guard actual == checksums else {
            let piece = zip(actual, checksums).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, checksums.count)
            throw DFSError(.checksumMismatch, "\(what()): checksum mismatch in piece \(piece) of a \(payload.count)-byte frame")
        }
        return Self.combined(actual, length: payload.count)
    }

    /// The checksum of a payload of `length` bytes from its pieces' checksums.
    public static func combined(_ pieces: [UInt32], length: Int) -> UInt32 {
        var whole = CRC32C()
        for (index, checksum) in pieces.enumerated() {
            whole.append(checksum: checksum, length: min(Limits.pieceBytes, length - index * Limits.pieceBytes))
        }
        return whole.value
    }
}
