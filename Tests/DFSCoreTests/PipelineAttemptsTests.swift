import DFSCore
import Testing

/// A client's attempts at one block: what each leaves out of the next, which block is kept,
/// and when they end.
@Suite struct PipelineAttemptsTests {
    let a = NodeID("a")
    let b = NodeID("b")
    let c = NodeID("c")
    let d = NodeID("d")
    let e = NodeID("e")

    /// The block an attempt through `targets` with `outcome` stored, as the client builds it.
    func block(_ id: UInt64, _ targets: [NodeID], _ outcome: PipelineOutcome) -> CommittedBlock {
        CommittedBlock(blockID: BlockID(id), blockIndex: 0, length: 100, checksum: 9, nodes: outcome.stored(inOrderOf: targets))
    }

    @Test func aCompleteFirstAttemptIsDone() {
        var attempts = PipelineAttempts()
        let started = attempts.startAttempt()
        #expect(started)
        let outcome = PipelineOutcome(stored: [a, b, c])
        let complete = attempts.recordAcknowledged(block(1, [a, b, c], outcome), targets: [a, b, c], outcome: outcome)
        #expect(complete)
        #expect(attempts.best == nil)
        #expect(attempts.excluded.isEmpty)
        #expect(attempts.startedCount == 1)
    }

    @Test func aFailedMiddleNodeIsLeftOutOfTheNextAttemptAlone() {
        var attempts = PipelineAttempts()
        _ = attempts.startAttempt()
        let outcome = PipelineOutcome(stored: [a], failed: [b])
        let partial = block(1, [a, b, c], outcome)
        let complete = attempts.recordAcknowledged(partial, targets: [a, b, c], outcome: outcome)
        #expect(!complete)
        #expect(attempts.excluded == [b])
        #expect(attempts.best == partial)
        #expect(attempts.best?.nodes == [a])
    }

    @Test func anUnreachableFirstNodeIsLeftOutAndItsErrorKept() {
        var attempts = PipelineAttempts()
        _ = attempts.startAttempt()
        let refused = DFSError(.connectionFailed, "a refused the connection")
        attempts.recordFailed(targets: [a, b, c], outcome: .lost(a, refused), error: refused)
        #expect(attempts.excluded == [a])
        #expect(attempts.best == nil)
        #expect(attempts.lastError == refused)
        #expect(throws: refused) { try attempts.result(blockIndex: 0) }
    }

    @Test func nodesFoundHungByAnotherBlockAreLeftOut() {
        var attempts = PipelineAttempts()
        _ = attempts.startAttempt()
        let hung = DFSError(.timeout, "nodes b were found hung while the block was written")
        attempts.recordFailed(targets: [a, b, c], outcome: PipelineOutcome(failed: [b]), error: hung)
        #expect(attempts.excluded == [b])
        #expect(attempts.lastError == hung)
    }

    @Test func exclusionsAddUpOverAttempts() {
        var attempts = PipelineAttempts()
        _ = attempts.startAttempt()
        let first = PipelineOutcome(stored: [a], failed: [b], stalled: [b])
        _ = attempts.recordAcknowledged(block(1, [a, b, c], first), targets: [a, b, c], outcome: first)
        _ = attempts.startAttempt()
        let timedOut = DFSError(.timeout, "d did not answer")
        attempts.recordFailed(targets: [d, a, c], outcome: .lost(d, timedOut), error: timedOut)
        #expect(attempts.excluded == [b, d])
    }

    @Test func theBlockOnTheMostNodesIsKeptTheEarliestOfEquals() throws {
        var attempts = PipelineAttempts()
        _ = attempts.startAttempt()
        let one = PipelineOutcome(stored: [a], failed: [b])
        _ = attempts.recordAcknowledged(block(1, [a, b, c], one), targets: [a, b, c], outcome: one)
        _ = attempts.startAttempt()
        let two = PipelineOutcome(stored: [d, c], failed: [a])
        let second = block(2, [d, c, a], two)
        _ = attempts.recordAcknowledged(second, targets: [d, c, a], outcome: two)
        _ = attempts.startAttempt()
        let twoAgain = PipelineOutcome(stored: [e, c], failed: [d])
        _ = attempts.recordAcknowledged(block(3, [e, c, d], twoAgain), targets: [e, c, d], outcome: twoAgain)
        #expect(attempts.best == second)
        #expect(try attempts.result(blockIndex: 0) == second)
        // A failure after a partial success does not lose the stored block.
        let laterFailure = DFSError(.ioError, "disk")
        var more = attempts
        more.recordFailed(targets: [a], outcome: .lost(a, laterFailure), error: laterFailure)
        #expect(try more.result(blockIndex: 0) == second)
    }

    @Test func attemptsEndAfterTheLimit() {
        var attempts = PipelineAttempts()
        for _ in 0..<Limits.blockWriteAttempts {
            let started = attempts.startAttempt()
            #expect(started)
            let refused = DFSError(.connectionFailed, "refused")
            attempts.recordFailed(targets: [a], outcome: .lost(a, refused), error: refused)
        }
        let startedAnother = attempts.startAttempt()
        #expect(!startedAnother)
        #expect(attempts.startedCount == Limits.blockWriteAttempts)
    }

    @Test func withNothingStoredAndNoErrorTheBlockIsUnavailable() {
        let attempts = PipelineAttempts()
        let error = #expect(throws: DFSError.self) { try attempts.result(blockIndex: 4) }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "could not store block 4")
    }
}
