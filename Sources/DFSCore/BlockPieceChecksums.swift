/// The CRC32C of every piece (``Limits/pieceBytes``) of the blocks of a file written from
/// its start, computed from the bytes as they are written, so that a block can be sent
/// from the page cache (sendfile(2)) without reading it back to checksum it.
///
/// Bytes must come in order: a write anywhere but the end of what was fed so far (a gap
/// or an overwrite) drops the block it lands in, whose checksums are then never known,
/// and the accumulator goes on from the next block that starts after it. Finished blocks
/// wait here until taken, at most ``finishedBlocksMax`` of them (the oldest are dropped):
/// their checksums are 4 bytes per 64 KiB, 4 KiB for a 64 MiB block.
public struct BlockPieceChecksums: Sendable {
    public let blockBytes: Int
    /// The blocks finished and not yet taken, at most this many.
    public static let finishedBlocksMax = 64

    /// The offset just past the last byte fed.
    public private(set) var end: Int
    /// True while every byte of the block `end` is in has been fed in order.
    private var blockComplete: Bool
    /// The finished pieces of the block `end` is in.
    private var pieces: [UInt32] = []
    /// The piece being filled.
    private var piece = CRC32C()
    private var finished: [Int: [UInt32]] = [:]

    /// An accumulator expecting the file's first byte next.
    public init(blockBytes: Int) {
        precondition(blockBytes > 0, "a block holds at least one byte")
        self.blockBytes = blockBytes
        self.end = 0
        self.blockComplete = true
    }

    /// Feeds `bytes`, written at `offset` of the file.
    public mutating func append(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        if offset != end {
            // Not the next byte: the block it lands in cannot be checksummed from here.
            end = offset
            blockComplete = offset % blockBytes == 0
            pieces = []
            piece = CRC32C()
        }
        var position = 0
        while position < bytes.count {
            let blockOffset = end % blockBytes
            let pieceOffset = blockOffset % Limits.pieceBytes
            let count = min(bytes.count - position, Limits.pieceBytes - pieceOffset, blockBytes - blockOffset)
            if blockComplete {
                piece.update(UnsafeRawBufferPointer(rebasing: bytes[position..<position + count]))
                if pieceOffset + count == Limits.pieceBytes || blockOffset + count == blockBytes {
                    pieces.append(piece.value)
                    piece = CRC32C()
                }
            }
            position += count
            end += count
            if end % blockBytes == 0 {
                if blockComplete { finish(blockIndex: end / blockBytes - 1) }
                blockComplete = true
                pieces = []
                piece = CRC32C()
            }
        }
    }

    public mutating func append(_ bytes: [UInt8], at offset: Int) {
        bytes.withUnsafeBytes { append($0, at: offset) }
    }

    /// The piece checksums of full block `blockIndex`, if every one of its bytes was fed in
    /// order; they are forgotten here.
    public mutating func take(blockIndex: Int) -> [UInt32]? {
        finished.removeValue(forKey: blockIndex)
    }

    private mutating func finish(blockIndex: Int) {
        finished[blockIndex] = pieces
        if finished.count > Self.finishedBlocksMax, let oldest = finished.keys.min() {
            finished.removeValue(forKey: oldest)
        }
    }
}
