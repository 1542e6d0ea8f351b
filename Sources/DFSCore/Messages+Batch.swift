/// One file of a ``CreateFiles`` batch: its path and size (at most one block).
public struct NewFile: Codable, Hashable, Sendable {
    public var path: DFSPath
    public var size: Int
    /// Permission bits, owner and group the file is created with (nil: none, or, for a new
    /// version of a file, the old version's), as ``SetAttributes`` would set them after.
    public var mode: Int?
    public var uid: Int?
    public var gid: Int?
    public init(path: DFSPath, size: Int, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil) {
        self.path = path
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
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
