import DFSCore
import Testing

@testable import DFSMeta

/// Which nodes take a block's replicas: a pure decision, driven without a store.
@Suite struct PlacementTests {
    let candidates = [
        PlacementCandidate(nodeID: NodeID("a"), freeBytes: 100),
        PlacementCandidate(nodeID: NodeID("b"), freeBytes: 300),
        PlacementCandidate(nodeID: NodeID("c"), freeBytes: 200),
        PlacementCandidate(nodeID: NodeID("d"), freeBytes: 200),
    ]

    @Test func mostFreeSpaceFirstWithTiesByID() {
        #expect(Placement.choose(count: 4, from: candidates, excluding: []) == ["b", "c", "d", "a"].map { NodeID($0) })
    }

    @Test func excludedNodesAreNeverChosen() {
        #expect(Placement.choose(count: 2, from: candidates, excluding: [NodeID("b")]) == ["c", "d"].map { NodeID($0) })
    }

    @Test func fewerCandidatesThanAskedGivesThoseThereAre() {
        #expect(Placement.choose(count: 3, from: Array(candidates.prefix(2)), excluding: []).count == 2)
        #expect(Placement.choose(count: 3, from: [], excluding: []).isEmpty)
    }

    @Test func nodesWithoutRoomForTheBlockAreSkipped() {
        #expect(Placement.choose(count: 4, from: candidates, excluding: [], neededBytes: 150) == ["b", "c", "d"].map { NodeID($0) })
        let full = PlacementCandidate(nodeID: NodeID("full"), freeBytes: 0)
        #expect(Placement.choose(count: 1, from: [full], excluding: []).isEmpty)
    }

    @Test func nodesOfSimilarRoomTakeTurns() {
        // Free space within 10% of the most counts as equal: the node chosen longest ago goes
        // first, whatever its exact free space.
        var nodes = [
            PlacementCandidate(nodeID: NodeID("a"), freeBytes: 1000),
            PlacementCandidate(nodeID: NodeID("b"), freeBytes: 950),
            PlacementCandidate(nodeID: NodeID("c"), freeBytes: 920),
        ]
        var counter: UInt64 = 0
        var uses: [NodeID: Int] = [:]
        for round in 0..<6 {
            let chosen = Placement.choose(count: 2, from: nodes, excluding: [])
            #expect(chosen.count == 2)
            if round == 0 { #expect(chosen == ["a", "b"].map { NodeID($0) }) }
            if round == 1 { #expect(chosen == ["c", "a"].map { NodeID($0) }) }
            for node in chosen {
                counter += 1
                uses[node, default: 0] += 1
                nodes = nodes.map { $0.nodeID == node ? PlacementCandidate(nodeID: node, freeBytes: $0.freeBytes, lastChosen: counter) : $0 }
            }
        }
        #expect(uses.values.sorted() == [4, 4, 4])
    }

    @Test func markedlyFullerNodesComeAfterTheRoomyOnes() {
        let nodes = [
            PlacementCandidate(nodeID: NodeID("a"), freeBytes: 1000, lastChosen: 9),
            PlacementCandidate(nodeID: NodeID("b"), freeBytes: 950, lastChosen: 8),
            PlacementCandidate(nodeID: NodeID("c"), freeBytes: 800, lastChosen: 0),
            PlacementCandidate(nodeID: NodeID("d"), freeBytes: 850, lastChosen: 1),
        ]
        // c and d were chosen longer ago but have markedly less room: the roomy pair goes
        // first, the one chosen longer ago leading; then the others by free space.
        #expect(Placement.choose(count: 4, from: nodes, excluding: []) == ["b", "a", "d", "c"].map { NodeID($0) })
    }

    @Test func duplicateCandidatesAreChosenOnce() {
        let twice = [candidates[0], candidates[0]]
        #expect(Placement.choose(count: 2, from: twice, excluding: []) == [NodeID("a")])
    }
}
