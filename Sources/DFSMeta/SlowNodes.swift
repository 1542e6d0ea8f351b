import DFSCore

/// Data nodes that clients reported hung (`reportSlowNode`), until they answer again. Pure:
/// times are passed in, so every rule has a unit test.
///
/// A reported node gets no new blocks (unless too few other nodes have room, see
/// ``Placement/choose(count:from:excluding:avoiding:neededBytes:)``) and its replicas are
/// listed last by `getFile`. The mark ends at the first heartbeat that arrives at least
/// ``penalty`` after the latest report. Both halves are needed: a heartbeat alone proves
/// little, since one may have been in flight when the report came, and a node whose disk is
/// stuck may still send them while it serves no data; a period alone would hand a node that
/// is still stopped back to clients (a stopped node sends no heartbeat, so its mark stays
/// until it wakes, or until `--dead-after` makes it dead anyway). A node that is still slow
/// after its penalty is reported again by the next client that waits on it, at the cost of
/// one stall for that client. Memory: one entry per registered node at most.
public struct SlowNodes: Sendable {
    /// The least time a reported node stays marked.
    public var penalty: Double
    private var reportedAt: [NodeID: Double] = [:]

    public init(penalty: Duration) {
        self.penalty = penalty.inSeconds
    }

    /// Marks `node` slow as of `now`; true when it was not marked before.
    @discardableResult
    public mutating func report(_ node: NodeID, now: Double) -> Bool {
        let isNew = reportedAt[node] == nil
        reportedAt[node] = max(now, reportedAt[node] ?? now)
        return isNew
    }

    /// A heartbeat from `node` arrived at `now`: true when it ends the node's mark.
    public mutating func heard(from node: NodeID, now: Double) -> Bool {
        guard let reported = reportedAt[node], now - reported >= penalty else { return false }
        reportedAt[node] = nil
        return true
    }

    /// Forgets `node`: it registered again, as a new process.
    public mutating func forget(_ node: NodeID) {
        reportedAt[node] = nil
    }

    public func contains(_ node: NodeID) -> Bool { reportedAt[node] != nil }

    /// Every node marked slow.
    public var nodes: Set<NodeID> { Set(reportedAt.keys) }

    /// `replicas` with those on slow nodes moved to the end, the order otherwise kept: a
    /// reader tries them last. Composes with any other ordering applied before it.
    public func demoting(_ replicas: [NodeAddress]) -> [NodeAddress] {
        guard !reportedAt.isEmpty else { return replicas }
        return replicas.filter { !contains($0.nodeID) } + replicas.filter { contains($0.nodeID) }
    }
}
