/// A message that travels as a frame's JSON body.
public protocol Message: Codable, Sendable {
    static var type: MessageType { get }
    /// Checks every number (and count) a peer chose against the range the receiver relies on:
    /// ids the database can hold, offsets and lengths that are not negative and fit a block,
    /// sizes and counts below their limits. ``Frame/decode(_:)`` calls it on every message
    /// it decodes, so no handler sees, or does arithmetic on, a value out of range, and every
    /// handler may change state knowing the whole request is valid.
    func validate() throws(DFSError)
}

extension Message {
    /// Messages with nothing to check beyond their types (see `Messages+Validation.swift`).
    public func validate() throws(DFSError) {}
}

/// Every message type. The raw values are part of the protocol: never rename or reuse one.
public enum MessageType: String, Codable, Sendable, CaseIterable {
    // Every connection
    case hello, helloOK, error, ok
    // Data node to meta server
    case registerNode, registerNodeOK, heartbeat, heartbeatOK, nodeLeaving
    // Client to meta server
    case createFile, createFileOK, allocateBlock, allocateBlockOK, completeFile, completeFileOK, abandonFile
    case getFile, getFileOK, list, listOK, reportBadReplica
    // Batches of small files, client to meta server
    case createFiles, createFilesOK, completeFiles, completeFilesOK
    // Namespace changes, client to meta server
    case makeDirectory, move, remove
    // Cluster health: block reports from data nodes, reports for operators
    case blockReport, status, statusOK, fsck, fsckOK
    // Client, upstream data node or repairing data node to data node
    case writeBlock, writeBlockOK, readBlock, readBlockOK, blockData
    case writeBlocks, writeBlocksOK
    // Gray failures: a client names a node that stopped answering; a pipeline node shows it
    // is alive while it flushes a block and waits for the nodes after it
    case reportSlowNode, writeBlockProgress
    // Client to meta server: keeping the pending files of uploads under way alive
    case renewLeases, renewLeasesOK
    // Client to data node: many small blocks in one reply
    case readBlocks, readBlocksOK
    // Client to meta server: many files' metadata in one reply
    case getFiles, getFilesOK
    // Client to meta server: a consistent copy of the whole database
    case backup, backupOK, backupData
    // Client to meta server: permissions, owners and times; symbolic links
    case setAttributes, makeLink
}

/// The version of this protocol. A peer that speaks another one is refused in `hello`.
public let protocolVersion = 11

/// What a peer is, announced in `hello`.
public enum PeerRole: String, Codable, Sendable {
    case client, dataNode, metaServer
}

/// The first message on every connection, from the side that connected (inside TLS when
/// the cluster has a secret).
public struct Hello: Message {
    public static let type = MessageType.hello
    public var protocolVersion: Int
    public var role: PeerRole
    public var software: String
    public init(role: PeerRole) {
        self.protocolVersion = DFSCore.protocolVersion
        self.role = role
        self.software = "dfs"
    }
}

/// The answer to `hello`.
public struct HelloOK: Message {
    public static let type = MessageType.helloOK
    public var protocolVersion: Int
    public var role: PeerRole
    public init(role: PeerRole) {
        self.protocolVersion = DFSCore.protocolVersion
        self.role = role
    }
}

/// The answer to a request that failed. The connection stays usable unless the frame was bad.
public struct ErrorMessage: Message {
    public static let type = MessageType.error
    public var error: DFSError
    public init(_ error: DFSError) { self.error = error }
}

/// The answer to a request that has nothing to return.
public struct OK: Message {
    public static let type = MessageType.ok
    public init() {}
}

/// Every message of the protocol, one per ``MessageType`` (a test keeps the two in step):
/// for tools and fuzzers that try a frame as each kind.
public let allMessageTypes: [any Message.Type] = [
    Hello.self, HelloOK.self, ErrorMessage.self, OK.self, RegisterNode.self, RegisterNodeOK.self,
    Heartbeat.self, HeartbeatOK.self, NodeLeaving.self, CreateFile.self, CreateFileOK.self, AllocateBlock.self,
    AllocateBlockOK.self, CompleteFile.self, CompleteFileOK.self, AbandonFile.self, GetFile.self, GetFileOK.self, List.self, ListOK.self,
    ReportBadReplica.self, MakeDirectory.self, Move.self, Remove.self, BlockReport.self, StatusRequest.self,
    StatusOK.self, FsckRequest.self, FsckOK.self, WriteBlock.self, WriteBlockOK.self, ReadBlock.self, ReadBlockOK.self,
    BlockData.self, CreateFiles.self, CreateFilesOK.self, CompleteFiles.self, CompleteFilesOK.self, WriteBlocks.self, WriteBlocksOK.self,
    ReportSlowNode.self, WriteBlockProgress.self,
    RenewLeases.self, RenewLeasesOK.self,
    ReadBlocks.self, ReadBlocksOK.self, GetFiles.self, GetFilesOK.self,
    BackupRequest.self, BackupOK.self, BackupData.self, SetAttributes.self, MakeLink.self,
]
