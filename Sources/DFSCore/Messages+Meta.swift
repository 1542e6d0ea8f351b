/// A data node and where clients reach it.
public struct NodeAddress: Codable, Hashable, Sendable {
    public var nodeID: NodeID
    public var address: Endpoint
    public init(nodeID: NodeID, address: Endpoint) {
        self.nodeID = nodeID
        self.address = address
    }
}

/// A data node announces itself: on start, and whenever the meta server has forgotten it.
public struct RegisterNode: Message {
    public static let type = MessageType.registerNode
    public var nodeID: NodeID
    /// The host clients should use. When nil or a wildcard, the meta server uses the address
    /// the registration came from.
    public var host: String?
    public var port: Int
    public var capacityBytes: Int
    public var usedBytes: Int
    public var blockCount: Int
    public init(nodeID: NodeID, host: String?, port: Int, capacityBytes: Int, usedBytes: Int, blockCount: Int) {
        self.nodeID = nodeID
        self.host = host
        self.port = port
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.blockCount = blockCount
    }
}

public struct RegisterNodeOK: Message {
    public static let type = MessageType.registerNodeOK
    /// The address the meta server will give clients for this node.
    public var address: Endpoint
    /// How often the node should send a heartbeat.
    public var heartbeatMilliseconds: Int
    public init(address: Endpoint, heartbeatMilliseconds: Int) {
        self.address = address
        self.heartbeatMilliseconds = heartbeatMilliseconds
    }
}

/// A data node's periodic report of its space, with the changes to its blocks since the last
/// one (so the meta server learns of copies and deletions as they happen).
public struct Heartbeat: Message {
    public static let type = MessageType.heartbeat
    public var nodeID: NodeID
    public var capacityBytes: Int
    public var usedBytes: Int
    public var blockCount: Int
    /// Copies this node is making on the meta server's command.
    public var copiesInFlight: Int
    /// Blocks stored since the last heartbeat.
    public var added: [BlockSummary]
    /// Blocks deleted since the last heartbeat.
    public var deleted: [BlockID]
    /// Blocks this node found corrupt (scrubber, a failed read, or a re-verification the
    /// meta server asked for): the only word that condemns a replica.
    public var corrupt: [BlockID]
    /// Blocks the meta server asked this node to re-verify (`verifyBlocks`) whose every piece
    /// matched its stored checksum, with the length and checksum the node holds: the meta
    /// server clears the suspicion when they match its record. Absent when there are none.
    public var verified: [BlockSummary]?
    public init(
        nodeID: NodeID, capacityBytes: Int, usedBytes: Int, blockCount: Int, copiesInFlight: Int = 0,
        added: [BlockSummary] = [], deleted: [BlockID] = [], corrupt: [BlockID] = [], verified: [BlockSummary]? = nil
    ) {
        self.nodeID = nodeID
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.blockCount = blockCount
        self.copiesInFlight = copiesInFlight
        self.added = added
        self.deleted = deleted
        self.corrupt = corrupt
        self.verified = verified
    }

    /// Most block changes one heartbeat carries; the rest wait for the next.
    public static let changesMax = 5000
}

public struct HeartbeatOK: Message {
    public static let type = MessageType.heartbeatOK
    /// True when the meta server does not know this node (it lost its registry, or the node
    /// was declared dead): the node registers again.
    public var registerAgain: Bool
    /// Blocks the node should delete: no live file owns them.
    public var deleteBlocks: [BlockID]
    /// Blocks the node should copy to other nodes.
    public var copyBlocks: [CopyBlockCommand]
    /// Blocks a client reported bad on this node: the node re-reads each against its stored
    /// checksums and answers in a later heartbeat, in `verified` or `corrupt` (or `deleted`
    /// when it no longer has the block). At most ``verifyBlocksMax``; absent when none.
    public var verifyBlocks: [BlockID]?
    public init(registerAgain: Bool, deleteBlocks: [BlockID], copyBlocks: [CopyBlockCommand] = [], verifyBlocks: [BlockID]? = nil) {
        self.registerAgain = registerAgain
        self.deleteBlocks = deleteBlocks
        self.copyBlocks = copyBlocks
        self.verifyBlocks = verifyBlocks
    }

    /// Re-verifications asked for in one reply. A node re-reads one block at a time, at most
    /// 64 MiB each; 16 keep a node busy for seconds at most per heartbeat, however many
    /// reports a client sends, and the meta server asks again for any left unanswered.
    public static let verifyBlocksMax = 16
}

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
    public init(fileID: Int64, size: Int, sha256: String?, blocks: [CommittedBlock]) {
        self.fileID = fileID
        self.size = size
        self.sha256 = sha256
        self.blocks = blocks
    }
}

/// The answer to `completeFile`: the file as it now stands, so a writer needs no `getFile`.
public struct CompleteFileOK: Message {
    public static let type = MessageType.completeFileOK
    public var info: FileInfo
    public init(info: FileInfo) { self.info = info }
}

// MARK: Batches of small files

/// One file of a ``CreateFiles`` batch: its path and size (at most one block).
public struct NewFile: Codable, Hashable, Sendable {
    public var path: DFSPath
    public var size: Int
    public init(path: DFSPath, size: Int) {
        self.path = path
        self.size = size
    }
}

/// Starts several pending files at once, each of at most one block, and allocates block 0 of
/// every one that is not empty: the meta side of a batch of small files in one request and
/// one commit. Every block of the batch goes to the same nodes, so one ``WriteBlocks``
/// stores them all. At most ``Limits/filesPerBatchMax`` files.
public struct CreateFiles: Message {
    public static let type = MessageType.createFiles
    public var files: [NewFile]
    /// nil: the meta server's default.
    public var replication: Int?
    public var blockBytes: Int
    /// When false, a file whose path exists fails with `alreadyExists` (the others go on).
    public var overwrite: Bool
    public init(files: [NewFile], replication: Int?, blockBytes: Int, overwrite: Bool) {
        self.files = files
        self.replication = replication
        self.blockBytes = blockBytes
        self.overwrite = overwrite
    }
}

/// What became of one file of a batch: a pending file (with its block, unless empty), or why not.
public struct CreatedFile: Codable, Hashable, Sendable {
    public var fileID: Int64?
    public var blockID: BlockID?
    /// Lets the holder write `blockID` to the batch's targets, when the cluster has a secret.
    public var token: String?
    public var error: DFSError?
    public init(fileID: Int64? = nil, blockID: BlockID? = nil, token: String? = nil, error: DFSError? = nil) {
        self.fileID = fileID
        self.blockID = blockID
        self.token = token
        self.error = error
    }
}

public struct CreateFilesOK: Message {
    public static let type = MessageType.createFilesOK
    public var replication: Int
    /// Where every block of the batch goes, first node first (empty when no file has data).
    public var targets: [NodeAddress]
    /// One per file, in the request's order.
    public var files: [CreatedFile]
    /// The pending files' lease, as in ``CreateFileOK``.
    public var leaseMilliseconds: Int?
    public init(replication: Int, targets: [NodeAddress], files: [CreatedFile], leaseMilliseconds: Int? = nil) {
        self.replication = replication
        self.targets = targets
        self.files = files
        self.leaseMilliseconds = leaseMilliseconds
    }
}

/// Completes several pending files at once, each as ``CompleteFile`` would, in one commit.
/// A file that cannot be completed fails alone. At most ``Limits/filesPerBatchMax`` files.
public struct CompleteFiles: Message {
    public static let type = MessageType.completeFiles
    public var files: [CompleteFile]
    public init(files: [CompleteFile]) { self.files = files }
}

/// One file of a ``CompleteFiles`` batch: nothing when it is complete (a batch's files are
/// not described back, which would cost both sides more than the rest), or why it is not.
public struct CompletedFile: Codable, Hashable, Sendable {
    public var error: DFSError?
    public init(error: DFSError? = nil) {
        self.error = error
    }
}

public struct CompleteFilesOK: Message {
    public static let type = MessageType.completeFilesOK
    /// One per file, in the request's order.
    public var files: [CompletedFile]
    public init(files: [CompletedFile]) { self.files = files }
}

/// Drops a pending file the client gave up on; its blocks become garbage.
public struct AbandonFile: Message {
    public static let type = MessageType.abandonFile
    public var fileID: Int64
    public init(fileID: Int64) { self.fileID = fileID }
}

/// Asks for a file's metadata and block locations.
public struct GetFile: Message {
    public static let type = MessageType.getFile
    public var path: DFSPath
    public init(path: DFSPath) { self.path = path }
}

public enum EntryType: String, Codable, Sendable {
    case file, dir
}

/// A file or folder as `ls` and `stat` show it.
public struct FileInfo: Codable, Hashable, Sendable {
    public var path: DFSPath
    public var type: EntryType
    public var size: Int
    /// Modification time, seconds since 1970.
    public var mtime: Double
    public var replication: Int
    public var blockBytes: Int
    /// SHA-256 of a file's bytes, lower-case hex, when the writer asked for one (it costs
    /// the writer about as much CPU as the rest of the upload); nil for folders.
    public var sha256: String?
    /// CRC32C of the whole file, combined by the meta server from its blocks' checksums when
    /// the file is completed; nil for folders (and files written before dfs recorded it).
    public var crc32c: UInt32?
    public init(
        path: DFSPath, type: EntryType, size: Int, mtime: Double, replication: Int, blockBytes: Int, sha256: String? = nil,
        crc32c: UInt32? = nil
    ) {
        self.path = path
        self.type = type
        self.size = size
        self.mtime = mtime
        self.replication = replication
        self.blockBytes = blockBytes
        self.sha256 = sha256
        self.crc32c = crc32c
    }
}

/// A block of a file and the nodes that hold it.
public struct BlockLocation: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var blockIndex: Int
    public var length: Int
    /// CRC32C of the whole block.
    public var checksum: UInt32
    /// Good replicas; corrupt ones are left out.
    public var replicas: [NodeAddress]
    /// Lets the holder read this block from its nodes, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, blockIndex: Int, length: Int, checksum: UInt32 = 0, replicas: [NodeAddress], token: String? = nil) {
        self.blockID = blockID
        self.blockIndex = blockIndex
        self.length = length
        self.checksum = checksum
        self.replicas = replicas
        self.token = token
    }
}

public struct GetFileOK: Message {
    public static let type = MessageType.getFileOK
    public var info: FileInfo
    /// Empty for a folder.
    public var blocks: [BlockLocation]
    public init(info: FileInfo, blocks: [BlockLocation]) {
        self.info = info
        self.blocks = blocks
    }
}

/// Lists a folder one page at a time, in name order.
public struct List: Message {
    public static let type = MessageType.list
    public var path: DFSPath
    /// Start after this name; nil for the first page.
    public var after: String?
    public var limit: Int
    /// Send every page, one `listOK` after another, without waiting for a request per page;
    /// the last has `more` false. The reader's pace (TCP's window) holds the sender back.
    public var stream: Bool?
    public init(path: DFSPath, after: String? = nil, limit: Int = Limits.listEntriesMax, stream: Bool? = nil) {
        self.path = path
        self.after = after
        self.limit = limit
        self.stream = stream
    }
}

public struct ListOK: Message {
    public static let type = MessageType.listOK
    /// The listed path itself: a folder, or the file when a file was listed.
    public var info: FileInfo
    public var entries: [FileInfo]
    /// True when more entries follow the last one returned.
    public var more: Bool
    public init(info: FileInfo, entries: [FileInfo], more: Bool) {
        self.info = info
        self.entries = entries
        self.more = more
    }

    // Entries travel as rows, `[name, type, size, mtime, replication, blockBytes, sha256 or
    // null, crc32c or null]` (the last may be missing), not as objects: a listing is
    // thousands of them, and rows are about half the bytes and decode in about half the time
    // (no keys to match). A name is one path component; the entry's path is the listed
    // folder's path plus the name.
    private enum CodingKeys: String, CodingKey { case info, entries, more }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        info = try container.decode(FileInfo.self, forKey: .info)
        more = try container.decode(Bool.self, forKey: .more)
        var rows = try container.nestedUnkeyedContainer(forKey: .entries)
        var entries: [FileInfo] = []
        entries.reserveCapacity(min(rows.count ?? 0, Limits.listEntriesMax))
        while !rows.isAtEnd {
            var row = try rows.nestedUnkeyedContainer()
            let name = try row.decode(String.self)
            let type = try row.decode(EntryType.self)
            let size = try row.decode(Int.self)
            let mtime = try row.decode(Double.self)
            let replication = try row.decode(Int.self)
            let blockBytes = try row.decode(Int.self)
            let sha256 = try row.decodeNil() ? nil : try row.decode(String.self)
            let crc32c = try row.isAtEnd || row.decodeNil() ? nil : try row.decode(UInt32.self)
            entries.append(
                FileInfo(
                    path: try info.path.appending(name), type: type, size: size, mtime: mtime, replication: replication,
                    blockBytes: blockBytes, sha256: sha256, crc32c: crc32c))
        }
        self.entries = entries
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info, forKey: .info)
        try container.encode(more, forKey: .more)
        var rows = container.nestedUnkeyedContainer(forKey: .entries)
        for entry in entries {
            var row = rows.nestedUnkeyedContainer()
            try row.encode(entry.path.name)
            try row.encode(entry.type)
            try row.encode(entry.size)
            try row.encode(entry.mtime)
            try row.encode(entry.replication)
            try row.encode(entry.blockBytes)
            if let sha256 = entry.sha256 { try row.encode(sha256) } else { try row.encodeNil() }
            if let crc32c = entry.crc32c { try row.encode(crc32c) } else { try row.encodeNil() }
        }
    }
}

/// A client found a replica it could not use: a checksum mismatch, a short or missing block.
/// The meta server stops handing it out and has the node delete it.
public struct ReportBadReplica: Message {
    public static let type = MessageType.reportBadReplica
    public var blockID: BlockID
    public var nodeID: NodeID
    public var reason: String
    public init(blockID: BlockID, nodeID: NodeID, reason: String) {
        self.blockID = blockID
        self.nodeID = nodeID
        self.reason = reason
    }
}
