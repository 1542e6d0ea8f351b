import DFSCore
import Testing

/// What a write through a pipeline came to, as the nodes acknowledge it and as the client
/// reads it against the targets it asked for.
@Suite struct PipelineOutcomeTests {
    let a = NodeID("a")
    let b = NodeID("b")
    let c = NodeID("c")
    let d = NodeID("d")
    var targets: [NodeID] { [a, b, c] }

    @Test func aCompletePipelineStoredEveryTargetAndExcludesNone() {
        let outcome = PipelineOutcome(stored: [a, b, c])
        #expect(outcome.isComplete(for: targets))
        #expect(outcome.stored(inOrderOf: targets) == [a, b, c])
        #expect(outcome.excludedNextTime(from: targets).isEmpty)
        #expect(outcome.stalledIfAny == nil)
    }

    @Test func aFailedMiddleNodeIsExcludedButNotTheNodesAfterIt() {
        let outcome = PipelineOutcome(stored: [a], failed: [b])
        #expect(!outcome.isComplete(for: targets))
        #expect(outcome.stored(inOrderOf: targets) == [a])
        #expect(outcome.excludedNextTime(from: targets) == [b])
    }

    @Test func withoutAFailedNodeEveryTargetThatDidNotStoreIsExcluded() {
        let outcome = PipelineOutcome(stored: [b])
        #expect(outcome.excludedNextTime(from: targets) == [a, c])
    }

    @Test func storedNodesAreReadInTheTargetsOrderAndOnlyTargetsCount() {
        let outcome = PipelineOutcome(stored: [c, d, a])
        #expect(outcome.stored(inOrderOf: targets) == [a, c])
        #expect(!outcome.isComplete(for: targets))
        #expect(PipelineOutcome(stored: [c, b, a]).isComplete(for: targets))
    }

    @Test func anUnreachableFirstNodeIsFailedAndStalledOnlyWhenItTimedOut() {
        let refused = PipelineOutcome.lost(a, DFSError(.connectionFailed, "refused"))
        #expect(refused == PipelineOutcome(failed: [a]))
        #expect(refused.excludedNextTime(from: targets) == [a])
        #expect(!refused.isComplete(for: targets))
        let hung = PipelineOutcome.lost(a, DFSError(.timeout, "no answer"))
        #expect(hung == PipelineOutcome(failed: [a], stalled: [a]))
        #expect(hung.excludedNextTime(from: targets) == [a])
        #expect(hung.stalledIfAny == [a])
    }

    @Test func countsOnlyATimeoutAsAStall() {
        #expect(PipelineOutcome.isStall(DFSError(.timeout, "no answer")))
        #expect(!PipelineOutcome.isStall(DFSError(.connectionFailed, "refused")))
        #expect(!PipelineOutcome.isStall(DFSError(.unavailable, "full")))
        // A cancelled wait is a wait that ran out, as `DFSError.wrap` says.
        #expect(PipelineOutcome.isStall(CancellationError()))
    }

    @Test func aNodeAcknowledgesItselfFirstThenWhatTheNodesAfterItStored() {
        let downstream = PipelineOutcome(stored: [b, c])
        #expect(PipelineOutcome.stored(on: a, then: downstream) == PipelineOutcome(stored: [a, b, c]))
        #expect(PipelineOutcome.stored(on: c, then: PipelineOutcome()) == PipelineOutcome(stored: [c]))
    }

    @Test func aNodeCarriesUpstreamTheFailuresAndStallsAfterIt() {
        // c stopped answering b, which names it; a passes that on behind its own copy.
        let fromB = PipelineOutcome.stored(on: b, then: .lost(c, DFSError(.timeout, "no progress")))
        let fromA = PipelineOutcome.stored(on: a, then: fromB)
        #expect(fromA == PipelineOutcome(stored: [a, b], failed: [c], stalled: [c]))
        #expect(fromA.excludedNextTime(from: targets) == [c])
    }

    @Test func aNextNodeThatAnsweredWithAnotherChecksumIsFailedNotStalled() {
        let outcome = PipelineOutcome.stored(on: a, then: .lost(b, stalled: false))
        #expect(outcome == PipelineOutcome(stored: [a], failed: [b]))
        #expect(outcome.stalledIfAny == nil)
    }

    @Test func stalledIsASubsetOfFailedAsTheRepliesSayIt() {
        let reply = WriteBlockOK(blockID: BlockID(1), length: 10, checksum: 7, stored: [a], failed: [b, c], stalled: [c])
        let outcome = PipelineOutcome(reply)
        #expect(outcome == PipelineOutcome(stored: [a], failed: [b, c], stalled: [c]))
        #expect(outcome.excludedNextTime(from: targets) == [b, c])
        let batch = WriteBlocksOK(checksums: [7], stored: [a, b], failed: [c])
        #expect(PipelineOutcome(batch) == PipelineOutcome(stored: [a, b], failed: [c]))
    }
}
