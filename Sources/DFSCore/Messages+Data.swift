/// Starts a block write. `length` bytes follow in `blockData` frames.
public struct WriteBlock: Message {
    public static let type = MessageType.writeBlock
    public var blockID: BlockID
    public var length: Int
    /// The nodes after this one in the write pipeline, which this node forwards the block to.
    public var pipeline: [NodeAddress]
    public init(blockID: BlockID, length: Int, pipeline: [NodeAddress] = []) {
        self.blockID = blockID
        self.length = length
        self.pipeline = pipeline
    }
}

/// The block is on disk (fsynced) on this node and every node after it in the pipeline.
public struct WriteBlockOK: Message {
    public static let type = MessageType.writeBlockOK
    public var blockID: BlockID
    public var length: Int
    /// Every node that stored the block, this one first.
    public var stored: [NodeID]
    public init(blockID: BlockID, length: Int, stored: [NodeID]) {
        self.blockID = blockID
        self.length = length
        self.stored = stored
    }
}

/// Asks for `length` bytes of a block from `offset`; nil length means to the end.
public struct ReadBlock: Message {
    public static let type = MessageType.readBlock
    public var blockID: BlockID
    public var offset: Int
    public var length: Int?
    public init(blockID: BlockID, offset: Int = 0, length: Int? = nil) {
        self.blockID = blockID
        self.offset = offset
        self.length = length
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
public struct BlockData: Message {
    public static let type = MessageType.blockData
    public init() {}
}
