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
    /// Block bytes the node has made durable and sent since it started (its metrics'
    /// `dfs_node_bytes_written_total` and `dfs_node_bytes_read_total`): the meta server's
    /// status page charts the cluster's throughput from them. Absent from older nodes.
    public var bytesWritten: Int?
    public var bytesRead: Int?
    public init(
        nodeID: NodeID, capacityBytes: Int, usedBytes: Int, blockCount: Int, copiesInFlight: Int = 0,
        added: [BlockSummary] = [], deleted: [BlockID] = [], corrupt: [BlockID] = [], verified: [BlockSummary]? = nil,
        bytesWritten: Int? = nil, bytesRead: Int? = nil
    ) {
        self.bytesWritten = bytesWritten
        self.bytesRead = bytesRead
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
