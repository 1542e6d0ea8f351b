import DFSCore

/// Data nodes a client has seen time out, which it avoids from then on: reads try their
/// replicas last, uploads ask the meta server for other nodes. Pure: times are passed in, so
/// every rule has a unit test.
///
/// A command avoids a hung node for its whole run, across every block and file, instead of
/// waiting out a timeout on it again for each. A long-lived client gives the node another
/// chance after ``avoidFor``. A node that is avoided is still used when nothing else is
/// left: avoiding it must never make a read or an upload fail that would have succeeded.
public struct AvoidedNodes: Sendable {
    /// Far longer than a command that meets a hung node usually runs (its stall costs it a
    /// few seconds, once), short enough that a library client kept open for hours does not
    /// shun a node that came back long ago.
    public static let avoidFor: Duration = .seconds(600)
    /// Entries kept at most, the oldest dropped first: a cluster has far fewer nodes.
    public static let entriesMax = 1024

    private var since: [NodeID: ContinuousClock.Instant] = [:]

    public init() {}

    /// Avoids `node` from `now` on; true when it was not avoided before (then the meta
    /// server is told).
    @discardableResult
    public mutating func avoid(_ node: NodeID, now: ContinuousClock.Instant) -> Bool {
        expire(now: now)
        let isNew = since[node] == nil
        since[node] = now
        if since.count > Self.entriesMax, let oldest = since.min(by: { $0.value < $1.value })?.key {
            since[oldest] = nil
        }
        return isNew
    }

    public func contains(_ node: NodeID, now: ContinuousClock.Instant) -> Bool {
        guard let start = since[node] else { return false }
        return now - start < Self.avoidFor
    }

    /// Every node avoided at `now`.
    public func nodes(now: ContinuousClock.Instant) -> Set<NodeID> {
        Set(since.filter { now - $0.value < Self.avoidFor }.keys)
    }

    /// `replicas` with the avoided ones moved last, the order otherwise kept.
    public func ordered(_ replicas: [NodeAddress], now: ContinuousClock.Instant) -> [NodeAddress] {
        replicas.filter { !contains($0.nodeID, now: now) } + replicas.filter { contains($0.nodeID, now: now) }
    }

    private mutating func expire(now: ContinuousClock.Instant) {
        since = since.filter { now - $0.value < Self.avoidFor }
    }
}
