import DFSClient
import DFSCore

/// A file opened for reading: the version the cluster had when it was opened (its block
/// list), read through the shared ``BlockCache``.
///
/// Holding the block list gives close-to-open consistency: a reader sees the file as it was
/// at open, whole, even if a new version is completed meanwhile (the old blocks stay on the
/// data nodes until the meta server's grace period for deleted blocks has passed).
actor ReadHandle {
    let path: DFSPath
    private let file: GetFileOK
    /// Offset in the file of each block's first byte.
    private let blockOffsets: [Int]
    private let cache: BlockCache
    /// Where the last read ended: a read starting there is sequential and reads ahead.
    private var lastEnd = 0

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
    }

    var size: Int { file.info.size }

    /// Up to `count` bytes at `offset`; fewer at the end of the file.
    func read(at offset: Int, count: Int) async throws -> [UInt8] {
        let end = min(offset + count, file.info.size)
        guard offset < end else { return [] }
        let sequential = offset == lastEnd
        lastEnd = end
        var result: [UInt8] = []
        result.reserveCapacity(end - offset)
        var position = offset
        var blockIndex = index(of: offset)
        while position < end {
            let block = file.blocks[blockIndex]
            let start = blockOffsets[blockIndex]
            if sequential, blockIndex + 1 < file.blocks.count {
                await cache.prefetch(file.blocks[blockIndex + 1], path: path)
            }
            let bytes = try await cache.bytes(of: block, path: path)
            guard bytes.count == block.length else {
                throw DFSError(.ioError, "block \(block.blockID) of \(path) came back with \(bytes.count) bytes, not \(block.length)")
            }
            let upTo = min(end, start + block.length)
            result += bytes[(position - start)..<(upTo - start)]
            position = upTo
            blockIndex += 1
        }
        return result
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
