import DFSCore

/// What a client has learnt about data nodes while it works: which ones timed out (avoided
/// for the rest of the command, see ``AvoidedNodes``) and how soon reads usually start (for
/// the hedging delay, see ``HedgeDelay``). Shared by every transfer of one ``DFSClient``,
/// so a node one block found hung is avoided by every other block and file in flight.
final class NodeAvoidance: Sendable {
    private let avoided = Mutex(AvoidedNodes())
    private let hedge: Mutex<HedgeDelay>

    init(stall: Duration) {
        hedge = Mutex(HedgeDelay(ceiling: stall))
    }

    /// Avoids `node` from now on; true when it was not avoided before.
    func avoid(_ node: NodeID) -> Bool {
        avoided.withLock { $0.avoid(node, now: .now) }
    }

    var nodes: Set<NodeID> { avoided.withLock { $0.nodes(now: .now) } }

    func ordered(_ replicas: [NodeAddress]) -> [NodeAddress] {
        avoided.withLock { $0.ordered(replicas, now: .now) }
    }

    var hedgeDelay: Duration { hedge.withLock { $0.delay } }

    func recordFirstByte(after duration: Duration) {
        hedge.withLock { $0.record(duration) }
    }
}
