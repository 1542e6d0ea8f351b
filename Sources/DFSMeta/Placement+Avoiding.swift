import DFSCore

extension Placement {
    /// As ``choose(count:from:excluding:neededBytes:)``, but nodes in `avoiding` (reported
    /// slow) are chosen only when the others cannot make up `count`, as HDFS falls back to
    /// stale nodes: a block on a node that turns out hung costs its writer one stall and a
    /// retry, a block placed on fewer nodes than asked costs a repair and durability meanwhile.
    public static func choose(
        count: Int, from candidates: [PlacementCandidate], excluding: Set<NodeID>, avoiding: Set<NodeID>, neededBytes: Int = 1
    ) -> [NodeID] {
        let preferred = choose(count: count, from: candidates, excluding: excluding.union(avoiding), neededBytes: neededBytes)
        guard preferred.count < count, !avoiding.isEmpty else { return preferred }
        let fallback = choose(
            count: count - preferred.count, from: candidates, excluding: excluding.union(preferred), neededBytes: neededBytes)
        return preferred + fallback
    }
}
