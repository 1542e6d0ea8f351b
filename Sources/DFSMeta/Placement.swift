import DFSCore

/// A node that could take a new block, how much room it has, and when it was last chosen.
public struct PlacementCandidate: Sendable, Hashable {
    public var nodeID: NodeID
    public var freeBytes: Int
    /// The placement counter's value when the node was last chosen; 0 when never.
    public var lastChosen: UInt64
    public init(nodeID: NodeID, freeBytes: Int, lastChosen: UInt64 = 0) {
        self.nodeID = nodeID
        self.freeBytes = freeBytes
        self.lastChosen = lastChosen
    }
}

/// Chooses where a block goes. Pure: no I/O, so every rule has a unit test.
public enum Placement {
    /// Nodes whose free space is within this fraction of the roomiest node's count as equally
    /// roomy. Free space read from disks moves with everything else written to them, so
    /// small differences say nothing; among equals, turns spread the blocks.
    public static let roomyFraction = 0.1

    /// Up to `count` distinct nodes, not excluded and with at least `neededBytes` free. Nodes
    /// within `roomyFraction` of the most free space come first, the one chosen longest ago
    /// first (so consecutive blocks take turns over nodes of similar room); the rest follow,
    /// most free space first. Remaining ties go to the lower node id, so the choice is
    /// deterministic. A full node is never chosen.
    public static func choose(count: Int, from candidates: [PlacementCandidate], excluding: Set<NodeID>, neededBytes: Int = 1) -> [NodeID] {
        let eligible = candidates.filter { !excluding.contains($0.nodeID) && $0.freeBytes >= max(1, neededBytes) }
        guard let most = eligible.map(\.freeBytes).max() else { return [] }
        let roomy = most - Int(Double(most) * roomyFraction)
        let ordered = eligible.sorted { left, right in
            let leftRoomy = left.freeBytes >= roomy
            let rightRoomy = right.freeBytes >= roomy
            if leftRoomy != rightRoomy { return leftRoomy }
            if leftRoomy, left.lastChosen != right.lastChosen { return left.lastChosen < right.lastChosen }
            if left.freeBytes != right.freeBytes { return left.freeBytes > right.freeBytes }
            return left.nodeID < right.nodeID
        }
        var seen = Set<NodeID>()
        var chosen: [NodeID] = []
        for candidate in ordered where chosen.count < count && seen.insert(candidate.nodeID).inserted {
            chosen.append(candidate.nodeID)
        }
        return chosen
    }
}
