import DFSCore
import Testing

@testable import DFSClient

/// The hedging delay: a few times the recent time to first byte, within its floor and ceiling.
@Suite struct HedgeDelayTests {
    @Test func withoutSamplesTheDelayIsTheFloor() {
        let hedge = HedgeDelay(ceiling: .seconds(3))
        #expect(hedge.delay == HedgeDelay.floor)
    }

    @Test func fastReadsKeepTheFloor() {
        var hedge = HedgeDelay(ceiling: .seconds(3))
        for _ in 0..<10 { hedge.record(.milliseconds(20)) }
        #expect(hedge.delay == .milliseconds(300))
    }

    @Test func slowerReadsRaiseTheDelayToThreeTimesTheMedian() {
        var hedge = HedgeDelay(ceiling: .seconds(3))
        // One outlier among steady 200 ms reads moves a median not at all.
        for _ in 0..<8 { hedge.record(.milliseconds(200)) }
        hedge.record(.seconds(30))
        #expect(hedge.delay == .milliseconds(600))
    }

    @Test func theDelayNeverPassesTheCeiling() {
        var hedge = HedgeDelay(ceiling: .seconds(3))
        for _ in 0..<5 { hedge.record(.seconds(2)) }
        #expect(hedge.delay == .seconds(3))
    }

    @Test func aCeilingBelowTheFloorIsRaisedToIt() {
        let hedge = HedgeDelay(ceiling: .milliseconds(10))
        #expect(hedge.ceiling == HedgeDelay.floor)
    }

    @Test func onlyTheRecentSamplesCount() {
        var hedge = HedgeDelay(ceiling: .seconds(10))
        for _ in 0..<HedgeDelay.samplesMax { hedge.record(.seconds(1)) }
        #expect(hedge.delay == .seconds(3))
        // A full window of fast reads replaces every slow one.
        for _ in 0..<HedgeDelay.samplesMax { hedge.record(.milliseconds(10)) }
        #expect(hedge.sampleCount == HedgeDelay.samplesMax)
        #expect(hedge.delay == HedgeDelay.floor)
    }

    @Test func negativeSamplesCountAsZero() {
        var hedge = HedgeDelay(ceiling: .seconds(3))
        hedge.record(.milliseconds(-50))
        #expect(hedge.delay == HedgeDelay.floor)
    }
}

/// The nodes a client avoids after seeing them time out.
@Suite struct AvoidedNodesTests {
    let start = ContinuousClock.now
    let a = NodeID("node-a")
    let b = NodeID("node-b")
    let c = NodeID("node-c")

    func replicas(_ nodes: [NodeID]) -> [NodeAddress] {
        nodes.enumerated().map { NodeAddress(nodeID: $1, address: Endpoint(host: "127.0.0.1", port: 7000 + $0)) }
    }

    @Test func aNodeIsNewlyAvoidedOnceAndReportedOnce() {
        var avoided = AvoidedNodes()
        let result1 = avoided.avoid(a, now: start)
        #expect(result1)
        let result2 = avoided.avoid(a, now: start + .seconds(1))
        #expect(!result2)
        #expect(avoided.contains(a, now: start + .seconds(2)))
        #expect(!avoided.contains(b, now: start))
        #expect(avoided.nodes(now: start) == [a])
    }

    @Test func avoidedReplicasGoLastInTheirOrder() {
        var avoided = AvoidedNodes()
        avoided.avoid(a, now: start)
        avoided.avoid(c, now: start)
        let ordered = avoided.ordered(replicas([a, b, c]), now: start).map(\.nodeID)
        #expect(ordered == [b, a, c])
        // Every replica is still there: an avoided node is used when nothing else is left.
        #expect(avoided.ordered(replicas([a]), now: start).map(\.nodeID) == [a])
    }

    @Test func avoidanceEndsAfterItsTime() {
        var avoided = AvoidedNodes()
        avoided.avoid(a, now: start)
        let later = start + AvoidedNodes.avoidFor
        #expect(!avoided.contains(a, now: later))
        #expect(avoided.nodes(now: later).isEmpty)
        #expect(avoided.ordered(replicas([a, b]), now: later).map(\.nodeID) == [a, b])
        // Avoided again after it expired: news for the meta server again.
        let result3 = avoided.avoid(a, now: later)
        #expect(result3)
    }

    @Test func theSetIsBounded() {
        var avoided = AvoidedNodes()
        for index in 0...AvoidedNodes.entriesMax {
            avoided.avoid(NodeID("node-\(index)"), now: start + .milliseconds(index))
        }
        let now = start + .seconds(5)
        #expect(avoided.nodes(now: now).count == AvoidedNodes.entriesMax)
        // The oldest went first.
        #expect(!avoided.contains(NodeID("node-0"), now: now))
        #expect(avoided.contains(NodeID("node-\(AvoidedNodes.entriesMax)"), now: now))
    }

    @Test func aHedgeRaceHasOneWinnerUntilReset() {
        let race = HedgeRace()
        #expect(race.claim(1))
        #expect(race.claim(1))
        #expect(!race.claim(2))
        race.reset()
        #expect(race.claim(2))
        #expect(!race.claim(1))
    }
}
