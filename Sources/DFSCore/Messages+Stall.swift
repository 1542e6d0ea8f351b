/// A client saw a data node time out (a connection, a hello, a read or an acknowledgement
/// that did not come in time): the node may be hung while its kernel still accepts
/// connections. The meta server places no new blocks on it and lists its replicas last
/// until the node answers again (see `SlowNodes` in DFSMeta).
public struct ReportSlowNode: Message {
    public static let type = MessageType.reportSlowNode
    public var nodeID: NodeID
    /// For logs, cut to ``reasonBytesMax`` bytes by the meta server.
    public var reason: String
    public init(nodeID: NodeID, reason: String) {
        self.nodeID = nodeID
        self.reason = reason
    }

    /// The part of a reason the meta server keeps for its log.
    public static let reasonBytesMax = 200
}

/// Sent upstream by a pipeline node, about once a second, while it flushes a block and waits
/// for the nodes after it to answer: the block's acknowledgement is on its way. An upstream
/// that hears nothing (no progress, no acknowledgement) for its stall time counts the node
/// as hung, so a slow but healthy flush is told apart from a stopped node.
public struct WriteBlockProgress: Message {
    public static let type = MessageType.writeBlockProgress
    public var blockID: BlockID
    public init(blockID: BlockID) { self.blockID = blockID }
}
