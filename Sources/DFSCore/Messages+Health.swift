/// A block as a data node holds it: what block reports carry.
public struct BlockSummary: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var length: Int
    /// CRC32C of the whole block.
    public var checksum: UInt32
    public init(blockID: BlockID, length: Int, checksum: UInt32) {
        self.blockID = blockID
        self.length = length
        self.checksum = checksum
    }
}

/// One page of a data node's full block list, sent after it registers and periodically.
/// Pages of one report share `reportID`; the meta server reconciles when `last` arrives.
public struct BlockReport: Message {
    public static let type = MessageType.blockReport
    public var nodeID: NodeID
    public var reportID: UInt64
    public var blocks: [BlockSummary]
    public var last: Bool
    public init(nodeID: NodeID, reportID: UInt64, blocks: [BlockSummary], last: Bool) {
        self.nodeID = nodeID
        self.reportID = reportID
        self.blocks = blocks
        self.last = last
    }

    /// Blocks per page: keeps each page far below the header limit.
    public static let blocksPerPage = 5000
}

/// A copy the meta server asks a data node to make: send block `blockID` to `target`.
public struct CopyBlockCommand: Codable, Hashable, Sendable {
    public var blockID: BlockID
    public var target: NodeAddress
    /// Lets the source write the block to the target, when the cluster has a secret.
    public var token: String?
    public init(blockID: BlockID, target: NodeAddress, token: String? = nil) {
        self.blockID = blockID
        self.target = target
        self.token = token
    }
}

/// A node in `dfs status`.
public struct NodeStatus: Codable, Hashable, Sendable {
    public var id: NodeID
    public var address: Endpoint
    public var alive: Bool
    public var capacity: Int
    public var used: Int
    public var blocks: Int
    /// Seconds since the last heartbeat; -1 when none has come since the meta server started.
    public var lastHeartbeatAge: Double
    /// True while a node that said it was leaving (a planned stop) is away: its blocks are
    /// not copied elsewhere until the leave grace runs out.
    public var leaving: Bool?
    /// True while a client's `reportSlowNode` holds: the node gets no new blocks unless
    /// needed and its replicas are listed last, until it answers again.
    public var slow: Bool?
    public init(
        id: NodeID, address: Endpoint, alive: Bool, capacity: Int, used: Int, blocks: Int, lastHeartbeatAge: Double, leaving: Bool? = nil,
        slow: Bool? = nil
    ) {
        self.leaving = leaving
        self.slow = slow
        self.id = id
        self.address = address
        self.alive = alive
        self.capacity = capacity
        self.used = used
        self.blocks = blocks
        self.lastHeartbeatAge = lastHeartbeatAge
    }
}

/// Counts of the namespace and of block health.
public struct HealthTotals: Codable, Hashable, Sendable {
    public var files: Int
    public var blocks: Int
    public var bytes: Int
    /// Blocks with fewer good replicas on live nodes than their file asks for, but at least one.
    public var underReplicated: Int
    /// Blocks with no replica on a live node at all: their bytes are out of reach.
    public var missing: Int
    /// Blocks whose only replicas on live nodes are corrupt: their bytes exist, but bad.
    public var corrupt: Int
    /// Replicas their own node confirmed bad, waiting until their block has its good replicas
    /// elsewhere before they are deleted. Absent from servers older than protocol 4.
    public var corruptReplicas: Int?
    /// Replicas a client reported bad whose node has not yet re-verified them; they still
    /// count as good. Absent from servers older than protocol 4.
    public var suspectReplicas: Int?
    public init(
        files: Int, blocks: Int, bytes: Int, underReplicated: Int, missing: Int, corrupt: Int,
        corruptReplicas: Int? = nil, suspectReplicas: Int? = nil
    ) {
        self.files = files
        self.blocks = blocks
        self.bytes = bytes
        self.underReplicated = underReplicated
        self.missing = missing
        self.corrupt = corrupt
        self.corruptReplicas = corruptReplicas
        self.suspectReplicas = suspectReplicas
    }
}

public struct StatusRequest: Message {
    public static let type = MessageType.status
    public init() {}
}

public struct StatusOK: Message {
    public static let type = MessageType.statusOK
    public var nodes: [NodeStatus]
    public var totals: HealthTotals
    /// The meta servers sharing the cluster's PostgreSQL database, and which is active;
    /// absent for a meta server on SQLite (it is the only one).
    public var metaServers: [MetaServerInfo]?
    public init(nodes: [NodeStatus], totals: HealthTotals, metaServers: [MetaServerInfo]? = nil) {
        self.nodes = nodes
        self.totals = totals
        self.metaServers = metaServers
    }
}

/// One meta server of a cluster whose namespace is in PostgreSQL.
public struct MetaServerInfo: Codable, Hashable, Sendable {
    /// Where clients and nodes reach it (`HOST:PORT`).
    public var address: String
    /// True for the one that holds the lease and serves; the others are standbys.
    public var active: Bool
    /// Seconds since it last noted itself alive in the database.
    public var lastSeenAge: Double
    public init(address: String, active: Bool, lastSeenAge: Double) {
        self.address = address
        self.active = active
        self.lastSeenAge = lastSeenAge
    }
}

/// Checks every file under `path`.
public struct FsckRequest: Message {
    public static let type = MessageType.fsck
    public var path: DFSPath
    public init(path: DFSPath) { self.path = path }
}

/// A block that does not have its file's number of good replicas on live nodes.
public struct BlockProblem: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// Fewer good replicas on live nodes than the file asks for, but at least one.
        case underReplicated
        /// No replica on a live node.
        case missing
        /// No good replica on a live node, but corrupt ones: the bytes exist, damaged.
        case corrupt
    }
    public var blockIndex: Int
    public var blockID: BlockID
    public var kind: Kind
    /// Good replicas on live nodes (suspect ones included: a report is only a hint).
    public var goodReplicas: Int
    public var expectedReplicas: Int
    /// Replicas confirmed bad by their node, kept until the block is whole elsewhere.
    public var corruptReplicas: Int?
    /// Replicas a client reported that their node has not yet re-verified.
    public var suspectReplicas: Int?
    public init(
        blockIndex: Int, blockID: BlockID, kind: Kind, goodReplicas: Int, expectedReplicas: Int,
        corruptReplicas: Int? = nil, suspectReplicas: Int? = nil
    ) {
        self.blockIndex = blockIndex
        self.blockID = blockID
        self.kind = kind
        self.goodReplicas = goodReplicas
        self.expectedReplicas = expectedReplicas
        self.corruptReplicas = corruptReplicas
        self.suspectReplicas = suspectReplicas
    }
}

public struct FileProblems: Codable, Hashable, Sendable {
    public var path: DFSPath
    public var problems: [BlockProblem]
    public init(path: DFSPath, problems: [BlockProblem]) {
        self.path = path
        self.problems = problems
    }
}

public struct FsckOK: Message {
    public static let type = MessageType.fsckOK
    /// Files with problems, at most ``listed`` of them; totals count them all.
    public var files: [FileProblems]
    public var totals: HealthTotals
    /// True when every block under the path has its file's number of good replicas.
    public var healthy: Bool
    /// Namespace rows whose path, parent and name disagree; absent when there are none.
    public var pathProblems: PathProblems?
    public init(files: [FileProblems], totals: HealthTotals, healthy: Bool) {
        self.files = files
        self.totals = totals
        self.healthy = healthy
    }

    /// Most files with problems listed in one reply.
    public static let listed = 1000
}

/// A data node stopping on purpose (SIGTERM, a planned restart) tells the meta server, which
/// then places no new blocks on it and, for the leave grace, copies none of its blocks.
public struct NodeLeaving: Message {
    public static let type = MessageType.nodeLeaving
    public var nodeID: NodeID
    public init(nodeID: NodeID) { self.nodeID = nodeID }
}
