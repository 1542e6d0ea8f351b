import DFSCore

/// A node that could take a new block, and how much room it has.
public struct PlacementCandidate: Sendable, Hashable {
    public var nodeID: NodeID
    public var freeBytes: Int
    public init(nodeID: NodeID, freeBytes: Int) {
        self.nodeID = nodeID
        self.freeBytes = freeBytes
    }
}

/// Chooses where a block goes. Pure: no I/O, so every rule has a unit test.
public enum Placement {
    /// Up to `count` distinct nodes, not excluded and with at least `neededBytes` free, most
    /// free space first; ties go to the lower node id so the choice is deterministic. A full
    /// node is never chosen.
    public static func choose(count: Int, from candidates: [PlacementCandidate], excluding: Set<NodeID>, neededBytes: Int = 1) -> [NodeID] {
        var seen = Set<NodeID>()
        let ordered = candidates
            .filter { !excluding.contains($0.nodeID) && $0.freeBytes >= max(1, neededBytes) }
            .sorted { ($0.freeBytes, $1.nodeID) > ($1.freeBytes, $0.nodeID) }
        var chosen: [NodeID] = []
        for candidate in ordered where chosen.count < count && seen.insert(candidate.nodeID).inserted {
            chosen.append(candidate.nodeID)
        }
        return chosen
    }
}
