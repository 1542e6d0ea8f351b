import DFSClient
import DFSCore
import DFSSystem

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
///
/// When the mount removes or replaces the file's name (unlink, a rename over it, a new
/// version uploaded), the cluster deletes this version's blocks soon after; before it
/// does, ``keepWhole(in:)`` copies the version into the staging folder and reads go there,
/// as a local file system keeps an unlinked file for those who have it open.
actor ReadHandle {
    let path: DFSPath
    /// The mount's number for the file (0 when it has none, as in tests of the reader alone).
    let inode: UInt64
    /// The version opened: its attributes and block list.
    nonisolated let file: GetFileOK
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
    /// The whole version in the staging folder, once its name went (see ``keepWhole(in:)``).
    private var local: (path: String, file: OpenFile, staging: StagingArea)?

    init(path: DFSPath, inode: UInt64 = 0, file: GetFileOK, cache: BlockCache) {
        self.path = path
        self.inode = inode
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
        if let local {
            let copy = local.file
            return try await BlockingIO.run { try copy.readExact(count: end - offset, at: offset) }[...]
        }
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

    /// Copies this version whole into `staging` (its budget allows, or ENOSPC), so that reads
    /// no longer need its blocks; called before the mount removes or replaces the file's
    /// name. Pieces come through the cache, read ahead as for a reader in order.
    func keepWhole(in staging: StagingArea) async throws {
        let size = file.info.size
        guard local == nil, size > 0 else { return }
        try staging.reserve(size)
        let copyPath = staging.newPath()
        var copy: OpenFile?
        do {
            let made = try await BlockingIO.run { try OpenFile.open(copyPath, .readWrite, options: [.create], permissions: [.ownerReadWrite]) }
            copy = made
            var position = 0
            while position < size {
                let (block, piece, start) = locate(position)
                let read = await cache.read(block, piece: piece, path: path)
                await readAhead(from: max(start + cache.range(of: piece, in: block).count, aheadEnd), to: min(size, position + readAheadBytes))
                let bytes = try await read.value
                try await BlockingIO.run { try made.writeAll(bytes, at: start) }
                position = start + bytes.count
            }
            local = (copyPath, made, staging)
        } catch {
            let opened = copy
            await BlockingIO.runQuietly {
                opened?.close()
                FileSystem.removeQuietly(copyPath)
            }
            staging.release(size)
            throw error
        }
    }

    /// At release: removes the local copy, if one was made.
    func close() async {
        guard let local else { return }
        self.local = nil
        await BlockingIO.runQuietly {
            local.file.close()
            FileSystem.removeQuietly(local.path)
        }
        local.staging.release(file.info.size)
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
