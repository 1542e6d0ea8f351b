import DFSClient
import DFSCore

/// Pieces of blocks read from the cluster, shared by every open file of the mount, least
/// recently used first out.
///
/// The kernel reads a file in requests of at most 1 MiB, but a dfs read costs a round trip,
/// so the mount reads ranges of a block of ``pieceBytes`` (4 MiB: one frame from a data
/// node, every 64 KiB checked against its CRC32C), keeps them while it has room, and a
/// reader going in order asks for the pieces ahead of it before it needs them (see
/// ``ReadHandle``), several at once, so transfers overlap with the reader as a download's
/// blocks do. Blocks never change once written, so a cached piece is never stale.
/// Concurrent reads of one piece share one transfer.
///
/// Memory: pieces held and being read count against ``capacityBytes``. A read the kernel is
/// waiting for always starts (evicting pieces read already, least recently used first); a
/// read-ahead starts only when the pieces read already leave it room, so pieces on their way
/// are never dropped and read again. The cache can pass its capacity only by the reads the
/// kernel waits on at once (a few per reading process).
actor BlockCache {
    /// One piece: a block and the piece's index in it.
    struct Piece: Hashable, Sendable {
        var blockID: BlockID
        var index: Int
    }

    private struct Entry {
        var read: Task<[UInt8], any Error>
        var bytes: Int
        var lastUse: UInt64
        /// Which start of the piece this is: a late report of an earlier read is ignored.
        var generation: UInt64
        var arrived = false
    }

    /// The ranges read: a multiple of the 64 KiB the data nodes checksum, as a range read
    /// must start at one.
    static let defaultPieceBytes = 4 * 1024 * 1024

    private let client: DFSClient
    /// Bytes of pieces kept, read or being read; at least one piece is kept whatever its size.
    let capacityBytes: Int
    nonisolated let pieceBytes: Int
    private var entries: [Piece: Entry] = [:]
    private var heldBytes = 0
    /// Of ``heldBytes``, those of pieces that have arrived.
    private var arrivedBytes = 0
    private var clock: UInt64 = 0

    init(client: DFSClient, capacityBytes: Int, pieceBytes: Int = BlockCache.defaultPieceBytes) {
        precondition(pieceBytes > 0 && pieceBytes % Limits.pieceBytes == 0, "pieces are whole checksum pieces")
        self.client = client
        self.capacityBytes = capacityBytes
        self.pieceBytes = pieceBytes
    }

    /// The pieces `block` is read in.
    nonisolated func pieceCount(of block: BlockLocation) -> Int {
        max(1, (block.length + pieceBytes - 1) / pieceBytes)
    }

    /// The bytes of the block piece `index` covers.
    nonisolated func range(of index: Int, in block: BlockLocation) -> Range<Int> {
        let start = index * pieceBytes
        return start..<min(start + pieceBytes, block.length)
    }

    /// The read of piece `index` of `block`, started if it is neither held nor on its way;
    /// the caller awaits its value.
    func read(_ block: BlockLocation, piece index: Int, path: DFSPath) -> Task<[UInt8], any Error> {
        let piece = Piece(blockID: block.blockID, index: index)
        clock += 1
        if var entry = entries[piece] {
            entry.lastUse = clock
            entries[piece] = entry
            return entry.read
        }
        let bytes = range(of: index, in: block).count
        evict(toFit: bytes)
        return start(piece, of: block, path: path, bytes: bytes)
    }

    /// Starts reading piece `index` of `block` for a reader about to need it, when the
    /// pieces that have arrived leave room for it. False when there is no room.
    @discardableResult
    func prefetch(_ block: BlockLocation, piece index: Int, path: DFSPath) -> Bool {
        let piece = Piece(blockID: block.blockID, index: index)
        guard entries[piece] == nil else { return true }
        let bytes = range(of: index, in: block).count
        guard heldBytes - arrivedBytes + bytes <= capacityBytes else { return false }
        clock += 1
        evict(toFit: bytes)
        _ = start(piece, of: block, path: path, bytes: bytes)
        return true
    }

    /// Bytes of pieces held or on their way (for tests of the bound).
    var held: Int { heldBytes }

    private func start(_ piece: Piece, of block: BlockLocation, path: DFSPath, bytes: Int) -> Task<[UInt8], any Error> {
        let client = self.client
        let range = range(of: piece.index, in: block)
        let generation = clock
        // Made here, the task belongs to this actor: its report is a plain call.
        let read = Task<[UInt8], any Error> {
            do {
                let bytes = try await client.readBlock(block, of: path, range: range)
                self.settled(piece, generation: generation, failed: false)
                return bytes
            } catch {
                self.settled(piece, generation: generation, failed: true)
                throw error
            }
        }
        entries[piece] = Entry(read: read, bytes: bytes, lastUse: clock, generation: generation)
        heldBytes += bytes
        return read
    }

    /// A read ended: a failed one is not kept, so the next caller tries the replicas again.
    private func settled(_ piece: Piece, generation: UInt64, failed: Bool) {
        guard var entry = entries[piece], entry.generation == generation else { return }
        if failed {
            entries[piece] = nil
            heldBytes -= entry.bytes
        } else {
            entry.arrived = true
            entries[piece] = entry
            arrivedBytes += entry.bytes
            // A read the kernel waited for may have passed the capacity: back within it.
            evict(toFit: 0)
        }
    }

    /// Drops least recently used pieces that have arrived until `bytes` more fit; pieces on
    /// their way stay (a reader is waiting for them, or soon will be).
    private func evict(toFit bytes: Int) {
        while heldBytes + bytes > capacityBytes, arrivedBytes > 0 {
            guard let (piece, entry) = entries.filter({ $0.value.arrived }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            entries[piece] = nil
            heldBytes -= entry.bytes
            arrivedBytes -= entry.bytes
        }
    }
}
