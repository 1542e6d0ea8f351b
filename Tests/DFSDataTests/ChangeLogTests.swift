import DFSCore
import Testing

@testable import DFSData

/// The changes a heartbeat carries, as a plain value: no store, no files.
@Suite struct ChangeLogTests {
    func summary(_ id: UInt64, length: Int = 10) -> BlockSummary {
        BlockSummary(blockID: BlockID(id), length: length, checksum: UInt32(id))
    }

    @Test func takeReturnsAtMostTheLimitOfEachKindOldestFirst() {
        var log = ChangeLog()
        for id in 1...5 { log.recordAdded(summary(UInt64(id))) }
        for id in 11...13 { log.recordDeleted(BlockID(UInt64(id))) }
        log.recordCorrupt(BlockID(21))
        let taken = log.take(limit: 2)
        #expect(taken.added == [summary(1), summary(2)])
        #expect(taken.deleted == [BlockID(11), BlockID(12)])
        #expect(taken.corrupt == [BlockID(21)])
        #expect(log.added == [summary(3), summary(4), summary(5)])
        #expect(log.deleted == [BlockID(13)])
        #expect(log.corrupt.isEmpty)
        let rest = log.take(limit: 100)
        #expect(rest.added.count == 3 && rest.deleted.count == 1)
        #expect(log.isEmpty)
    }

    @Test func restoredChangesGoBackAheadOfNewerOnes() {
        var log = ChangeLog()
        log.recordAdded(summary(1))
        log.recordVerified(summary(7))
        let taken = log.take(limit: 10)
        log.recordAdded(summary(2))
        log.recordCorrupt(BlockID(8))
        log.restore(taken)
        #expect(log.added == [summary(1), summary(2)])
        #expect(log.verified == [summary(7)])
        #expect(log.corrupt == [BlockID(8)])
    }

    @Test func clearingForAFullReportKeepsCorruptAndVerified() {
        var log = ChangeLog()
        log.recordAdded(summary(1))
        log.recordDeleted(BlockID(2))
        log.recordCorrupt(BlockID(3))
        log.recordVerified(summary(4))
        log.clearAddedAndDeleted()
        #expect(log.added.isEmpty && log.deleted.isEmpty)
        #expect(log.corrupt == [BlockID(3)])
        #expect(log.verified == [summary(4)])
        #expect(!log.isEmpty)
    }

    @Test func aCorruptBlockIsListedOnce() {
        var log = ChangeLog()
        log.recordCorrupt(BlockID(3))
        log.recordCorrupt(BlockID(3))
        #expect(log.corrupt == [BlockID(3)])
    }

    @Test func theLatestOutcomeOfAVerificationWins() {
        var log = ChangeLog()
        log.recordVerified(summary(3))
        log.recordCorrupt(BlockID(3))
        #expect(log.verified.isEmpty)
        #expect(log.corrupt == [BlockID(3)])
        log.recordVerified(summary(3, length: 20))
        log.recordVerified(summary(3, length: 30))
        #expect(log.corrupt.isEmpty)
        #expect(log.verified == [summary(3, length: 30)], "one entry, the latest")
    }

    @Test func aDeletionCancelsWhateverElseWasPendingForTheBlock() {
        var log = ChangeLog()
        log.recordAdded(summary(1))
        log.recordAdded(summary(2))
        log.recordCorrupt(BlockID(1))
        log.recordVerified(summary(1))
        log.recordCorrupt(BlockID(1))
        log.recordDeleted(BlockID(1))
        #expect(log.added == [summary(2)])
        #expect(log.corrupt.isEmpty && log.verified.isEmpty)
        #expect(log.deleted == [BlockID(1)])
    }

    @Test func aBlockReportedGoneIsListedAsDeletedOnce() {
        var log = ChangeLog()
        log.recordGone(BlockID(9))
        log.recordGone(BlockID(9))
        #expect(log.deleted == [BlockID(9)])
        log.recordDeleted(BlockID(10))
        log.recordGone(BlockID(10))
        #expect(log.deleted == [BlockID(9), BlockID(10)])
    }
}
