import DFSClient
import DFSCore

/// A file opened for reading: the version the cluster had when it was opened (its block
/// list), read through the shared ``BlockCache`` in pieces.
///
/// Holding the block list gives close-to-open consistency: a reader sees the file as it was
/// at open, whole, even if a new version is completed meanwhile (the old blocks stay on the
/// data nodes until the meta server's grace period for deleted blocks has passed).
///
/// A reader that goes in order (each read near where the last ended: the kernel's
/// read-ahead requests may come a little out of order) has the pieces of the next
/// ``readAheadBytes`` on their way before it asks for them.
actor ReadHandle {
    let path: DFSPath
    private let file: GetFileOK
    /// Offset in the file of each block's first byte.
    private let blockOffsets: [Int]
    private let cache: BlockCache
    /// How far ahead of an in-order reader pieces are read: 8 pieces, less when the cache is
    /// small (half of it, so the pieces being read stay beside those read ahead).
    let readAheadBytes: Int
    /// Where the reads so far ended: a read starting near there is in order.
    private var lastEnd = 0
    /// Where the read-ahead asked so far ends.
    private var aheadEnd = 0

    init(path: DFSPath, file: GetFileOK, cache: BlockCache) {
        self.path = path
        self.file = file
        self.cache = cache
        var offsets: [Int] = []
        var position = 0
        for block in file.blocks {
            offsets.append(position)
            position += block.length
        }
        blockOffsets = offsets
        readAheadBytes = min(8 * cache.pieceBytes, cache.capacityBytes / 2)
    }

    var size: Int { file.info.size }

    /// Up to `count` bytes at `offset`; fewer at the end of the file. A read inside one
    /// piece is a slice of the cached piece, not a copy.
    func read(at offset: Int, count: Int) async throws -> ArraySlice<UInt8> {
        let end = min(offset + count, file.info.size)
        guard offset >= 0, offset < end else { return [] }
        let inOrder = abs(offset - lastEnd) <= cache.pieceBytes
        lastEnd = inOrder ? max(lastEnd, end) : end
        // The reads this one needs start first, then the read-ahead beyond them.
        var reads: [(task: Task<[UInt8], any Error>, start: Int, length: Int)] = []
        var position = offset
        while position < end {
            let (block, piece, start) = locate(position)
            let range = cache.range(of: piece, in: block)
            reads.append((await cache.read(block, piece: piece, path: path), start, range.count))
            position = start + range.count
        }
        if inOrder {
            await readAhead(from: max(position, aheadEnd), to: min(file.info.size, end + readAheadBytes))
        } else {
            aheadEnd = position
        }
        var pieces: [(bytes: [UInt8], start: Int)] = []
        for read in reads {
            let bytes = try await read.task.value
            guard bytes.count == read.length else {
                throw DFSError(.ioError, "a piece of \(path) came back with \(bytes.count) bytes, not \(read.length)")
            }
            pieces.append((bytes, read.start))
        }
        if pieces.count == 1, let piece = pieces.first {
            return piece.bytes[(offset - piece.start)..<(end - piece.start)]
        }
        var result: [UInt8] = []
        result.reserveCapacity(end - offset)
        for piece in pieces {
            let from = max(offset, piece.start) - piece.start
            let upTo = min(end, piece.start + piece.bytes.count) - piece.start
            result += piece.bytes[from..<upTo]
        }
        return result[...]
    }

    /// Asks the cache for the pieces from `start` to `end` (of the file), until it has no
    /// room: the next read asks again.
    private func readAhead(from start: Int, to end: Int) async {
        var position = start
        while position < end {
            let (block, piece, pieceStart) = locate(position)
            guard await cache.prefetch(block, piece: piece, path: path) else { break }
            position = pieceStart + cache.range(of: piece, in: block).count
            aheadEnd = max(aheadEnd, position)
        }
    }

    /// The block, piece of it, and the piece's offset in the file, of byte `offset`.
    private func locate(_ offset: Int) -> (BlockLocation, Int, Int) {
        let blockIndex = index(of: offset)
        let block = file.blocks[blockIndex]
        let piece = (offset - blockOffsets[blockIndex]) / cache.pieceBytes
        return (block, piece, blockOffsets[blockIndex] + piece * cache.pieceBytes)
    }

    /// The index of the block holding byte `offset` (binary search over the block offsets).
    private func index(of offset: Int) -> Int {
        var low = 0
        var high = blockOffsets.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if blockOffsets[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
