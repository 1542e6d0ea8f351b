import DFSCore
import Testing

@testable import DFSMeta

/// Nodes reported slow by clients: out of placement and listed last until they answer again.
@Suite struct SlowNodesTests {
    let a = NodeID("node-a")
    let b = NodeID("node-b")
    let c = NodeID("node-c")
    let d = NodeID("node-d")

    @Test func aHeartbeatWithinThePenaltyKeepsTheMark() {
        var slow = SlowNodes(penalty: .seconds(10))
        let result1 = slow.report(a, now: 100)
        #expect(result1)
        let result2 = slow.report(a, now: 101)
        #expect(!result2)
        // A heartbeat that may have been in flight at the report, or a node that still beats
        // while it serves nothing, does not end the mark early.
        let result3 = slow.heard(from: a, now: 105)
        #expect(!result3)
        #expect(slow.contains(a))
        // A later report starts the penalty again.
        let result4 = slow.heard(from: a, now: 110.5)
        #expect(!result4)
        let result5 = slow.heard(from: a, now: 111)
        #expect(result5)
        #expect(!slow.contains(a))
    }

    @Test func withoutAHeartbeatTheMarkStays() {
        var slow = SlowNodes(penalty: .seconds(10))
        slow.report(a, now: 100)
        let result6 = slow.heard(from: b, now: 1000)
        #expect(!result6)
        #expect(slow.nodes == [a])
    }

    @Test func aNewRegistrationEndsTheMark() {
        var slow = SlowNodes(penalty: .seconds(10))
        slow.report(a, now: 100)
        slow.forget(a)
        #expect(!slow.contains(a))
    }

    @Test func slowReplicasAreListedLastInTheirOrder() {
        var slow = SlowNodes(penalty: .seconds(10))
        let replicas = [a, b, c].enumerated().map { NodeAddress(nodeID: $1, address: Endpoint(host: "127.0.0.1", port: 7000 + $0)) }
        #expect(slow.demoting(replicas) == replicas)
        slow.report(a, now: 1)
        #expect(slow.demoting(replicas).map(\.nodeID) == [b, c, a])
    }

    @Test func placementSkipsSlowNodesWhileOthersSuffice() {
        let candidates = [a, b, c, d].map { PlacementCandidate(nodeID: $0, freeBytes: 1000) }
        let chosen = Placement.choose(count: 3, from: candidates, excluding: [], avoiding: [b], neededBytes: 10)
        #expect(Set(chosen) == [a, c, d])
    }

    @Test func placementFallsBackToSlowNodesWhenTooFewOthers() {
        let candidates = [a, b, c].map { PlacementCandidate(nodeID: $0, freeBytes: 1000) }
        let chosen = Placement.choose(count: 3, from: candidates, excluding: [], avoiding: [b], neededBytes: 10)
        // The slow node comes last, and only to make up the count.
        #expect(chosen.count == 3)
        #expect(chosen.last == b)
        // Excluded stays excluded, slow or not.
        #expect(Placement.choose(count: 3, from: candidates, excluding: [b], avoiding: [b], neededBytes: 10).count == 2)
    }
}
