/// Starts a pending file, invisible until `completeFile`.
public struct CreateFile: Message {
    public static let type = MessageType.createFile
    public var path: DFSPath
    /// nil: the meta server's default.
    public var replication: Int?
    public var blockBytes: Int
    /// When false, an existing file at the path is an `alreadyExists` error.
    public var overwrite: Bool
    /// True: also allocate block 0 in the same step (a file that fits in one block then
    /// needs no `allocateBlock`). Absent means false.
    public var allocateFirstBlock: Bool?
    public init(path: DFSPath, replication: Int?, blockBytes: Int, overwrite: Bool, allocateFirstBlock: Bool? = nil) {
        self.path = path
        self.replication = replication
        self.blockBytes = blockBytes
        self.overwrite = overwrite
        self.allocateFirstBlock = allocateFirstBlock
    }
}

public struct CreateFileOK: Message {
    public static let type = MessageType.createFileOK
    public var fileID: Int64
    public var replication: Int
    /// Block 0's allocation, when `allocateFirstBlock` asked for it.
    public var firstBlock: AllocateBlockOK?
    /// The pending file's lease: the writer renews it (`renewLeases`) every quarter of it.
    public var leaseMilliseconds: Int?
    public init(fileID: Int64, replication: Int, firstBlock: AllocateBlockOK? = nil, leaseMilliseconds: Int? = nil) {
        self.fileID = fileID
        self.replication = replication
        self.firstBlock = firstBlock
        self.leaseMilliseconds = leaseMilliseconds
    }
}

/// Asks for a new block of a pending file and the nodes to write it to.
public struct AllocateBlock: Message {
    public static let type = MessageType.allocateBlock
    public var fileID: Int64
    public var blockIndex: Int
    /// Nodes the client could not write to; they are not chosen again.
    public var excludeNodes: [NodeID]
    public init(fileID: Int64, blockIndex: Int, excludeNodes: [NodeID] = []) {
        self.fileID = fileID
        self.blockIndex = blockIndex
        self.excludeNodes = excludeNodes
    }
}

public struct AllocateBlockOK: Message {
    public static let type = MessageType.allocateBlockOK
    public var blockID: BlockID
    /// Where to write the block, first node first; distinct nodes, most free space first.
    public var targets: [NodeAddress]
    /// Lets the holder write this block to the targets, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, targets: [NodeAddress], token: String? = nil) {
        self.blockID = blockID
        self.targets = targets
        self.token = token
    }
}

/// One written block of a file, as the client reports it at `completeFile`.
public struct CommittedBlock: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var blockIndex: Int
    public var length: Int
    /// CRC32C of the whole block.
    public var checksum: UInt32
    /// Nodes that acknowledged the block as stored.
    public var nodes: [NodeID]
    public init(blockID: BlockID, blockIndex: Int, length: Int, checksum: UInt32 = 0, nodes: [NodeID]) {
        self.blockID = blockID
        self.blockIndex = blockIndex
        self.length = length
        self.checksum = checksum
        self.nodes = nodes
    }
}

/// Makes a pending file visible, atomically replacing an older file of the same path.
public struct CompleteFile: Message {
    public static let type = MessageType.completeFile
    public var fileID: Int64
    public var size: Int
    /// SHA-256 of the whole file, lower-case hex, as `sha256sum` prints it; optional.
    public var sha256: String?
    public var blocks: [CommittedBlock]
    /// Stored with the version as ``FileInfo/etag``; optional.
    public var etag: String?
    /// Stored with the version as ``FileInfo/properties``; optional.
    public var properties: [String: String]?
    public init(fileID: Int64, size: Int, sha256: String?, blocks: [CommittedBlock], etag: String? = nil, properties: [String: String]? = nil) {
        self.fileID = fileID
        self.size = size
        self.sha256 = sha256
        self.blocks = blocks
        self.etag = etag
        self.properties = properties
    }
}

/// The answer to `completeFile`: the file as it now stands, so a writer needs no `getFile`.
public struct CompleteFileOK: Message {
    public static let type = MessageType.completeFileOK
    public var info: FileInfo
    public init(info: FileInfo) { self.info = info }
}

/// Drops a pending file the client gave up on; its blocks become garbage.
public struct AbandonFile: Message {
    public static let type = MessageType.abandonFile
    public var fileID: Int64
    public init(fileID: Int64) { self.fileID = fileID }
}
