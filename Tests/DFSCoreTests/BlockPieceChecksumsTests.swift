import DFSCore
import Testing

@Suite struct BlockPieceChecksumsTests {
    /// Bytes that differ at every position, so a checksum of the wrong range shows.
    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 11) }
    }

    /// What a sender computes by reading the block: the checksum of each piece.
    static func expected(_ bytes: [UInt8], block blockIndex: Int, blockBytes: Int) -> [UInt32] {
        let start = blockIndex * blockBytes
        return BlockData.checksums(of: Array(bytes[start..<min(start + blockBytes, bytes.count)]))
    }

    /// Writes of every size fed in order give every full block the checksums read would.
    @Test(arguments: [1, 1000, 65_535, 65_536, 65_537, 300_000, 1_048_576])
    func writesOfAnySizeGiveTheBlocksChecksums(writeBytes: Int) {
        let blockBytes = 4 * Limits.pieceBytes
        let file = Self.bytes(3 * blockBytes + 1234)
        var checksums = BlockPieceChecksums(blockBytes: blockBytes)
        var offset = 0
        var taken: [Int: [UInt32]] = [:]
        while offset < file.count {
            let end = min(file.count, offset + writeBytes)
            checksums.append(Array(file[offset..<end]), at: offset)
            offset = end
            // Taken as soon as a block is full, as the mount does.
            for blockIndex in 0..<(offset / blockBytes) where taken[blockIndex] == nil {
                taken[blockIndex] = checksums.take(blockIndex: blockIndex)
            }
        }
        for blockIndex in 0..<3 {
            #expect(taken[blockIndex] == Self.expected(file, block: blockIndex, blockBytes: blockBytes), "block \(blockIndex)")
        }
        #expect(checksums.take(blockIndex: 3) == nil)
        #expect(checksums.end == file.count)
    }

    /// A block size that is not a whole number of pieces ends with a short piece.
    @Test func aBlockEndingInAShortPieceHasItsChecksum() {
        let blockBytes = Limits.pieceBytes + 100
        let file = Self.bytes(2 * blockBytes)
        var checksums = BlockPieceChecksums(blockBytes: blockBytes)
        checksums.append(file, at: 0)
        #expect(checksums.take(blockIndex: 0) == Self.expected(file, block: 0, blockBytes: blockBytes))
        #expect(checksums.take(blockIndex: 1) == Self.expected(file, block: 1, blockBytes: blockBytes))
    }

    /// A write elsewhere than the end drops the block it lands in; the blocks after it,
    /// fed whole and in order, are known again.
    @Test func aGapDropsOnlyTheBlockItLandsIn() {
        let blockBytes = 2 * Limits.pieceBytes
        let file = Self.bytes(4 * blockBytes)
        var checksums = BlockPieceChecksums(blockBytes: blockBytes)
        checksums.append(Array(file[0..<100]), at: 0)
        checksums.append(Array(file[200..<(3 * blockBytes)]), at: 200)
        checksums.append(Array(file[(3 * blockBytes)...]), at: 3 * blockBytes)
        #expect(checksums.take(blockIndex: 0) == nil)
        #expect(checksums.take(blockIndex: 1) == Self.expected(file, block: 1, blockBytes: blockBytes))
        #expect(checksums.take(blockIndex: 2) == Self.expected(file, block: 2, blockBytes: blockBytes))
        #expect(checksums.take(blockIndex: 3) == Self.expected(file, block: 3, blockBytes: blockBytes))
    }

    /// Starting in the middle of a block (streaming again on a file that has bytes) skips
    /// to the next block.
    @Test func startingMidBlockSkipsToTheNextBlock() {
        let blockBytes = Limits.pieceBytes
        let file = Self.bytes(3 * blockBytes)
        var checksums = BlockPieceChecksums(blockBytes: blockBytes)
        checksums.append(Array(file[10...]), at: 10)
        #expect(checksums.take(blockIndex: 0) == nil)
        #expect(checksums.take(blockIndex: 1) == Self.expected(file, block: 1, blockBytes: blockBytes))
        #expect(checksums.take(blockIndex: 2) == Self.expected(file, block: 2, blockBytes: blockBytes))
    }

    /// Blocks never taken are held up to the limit, the oldest dropped first.
    @Test func finishedBlocksAreBounded() {
        let blockBytes = 16
        let count = BlockPieceChecksums.finishedBlocksMax + 3
        var checksums = BlockPieceChecksums(blockBytes: blockBytes)
        checksums.append(Self.bytes(count * blockBytes), at: 0)
        for blockIndex in 0..<3 { #expect(checksums.take(blockIndex: blockIndex) == nil) }
        for blockIndex in 3..<count { #expect(checksums.take(blockIndex: blockIndex) != nil) }
    }

    /// A piece the size of one byte and one of a whole block, the boundaries of a piece.
    @Test func writesEndingOnEveryPieceBoundaryAgree() {
        let blockBytes = 2 * Limits.pieceBytes
        let file = Self.bytes(blockBytes)
        for split in [1, Limits.pieceBytes - 1, Limits.pieceBytes, Limits.pieceBytes + 1, blockBytes - 1] {
            var checksums = BlockPieceChecksums(blockBytes: blockBytes)
            checksums.append(Array(file[0..<split]), at: 0)
            #expect(checksums.take(blockIndex: 0) == nil)
            checksums.append(Array(file[split...]), at: split)
            #expect(checksums.take(blockIndex: 0) == Self.expected(file, block: 0, blockBytes: blockBytes), "split at \(split)")
        }
    }
}
