import DFSClient
import DFSCore

/// Whole blocks read from the cluster, shared by every open file of the mount, least
/// recently used first out.
///
/// The kernel reads a file in pieces of at most 128 KiB, but a dfs read costs a round trip
/// and a checksum over a whole block, so the mount reads whole blocks, keeps them while it
/// has room, and starts reading the next block of a file read in order before it is asked
/// for (read-ahead). Blocks never change once written, so a cached block is never stale.
/// Concurrent reads of one block share one transfer.
actor BlockCache {
    private struct Entry {
        var read: Task<[UInt8], any Error>
        var bytes: Int
        var lastUse: UInt64
    }

    private let client: DFSClient
    /// Bytes of blocks kept, read or being read; at least one block is kept whatever its size.
    let capacityBytes: Int
    private var entries: [BlockID: Entry] = [:]
    private var heldBytes = 0
    private var clock: UInt64 = 0

    init(client: DFSClient, capacityBytes: Int) {
        self.client = client
        self.capacityBytes = capacityBytes
    }

    /// The bytes of `block`, read once and shared.
    func bytes(of block: BlockLocation, path: DFSPath) async throws -> [UInt8] {
        let read = start(block, path: path)
        do {
            return try await read.value
        } catch {
            // A failed read is not kept: the next caller tries the replicas again.
            if let entry = entries[block.blockID], entry.read == read {
                entries[block.blockID] = nil
                heldBytes -= entry.bytes
            }
            throw error
        }
    }

    /// Starts reading `block` if it is neither held nor on its way, for a reader about to
    /// need it.
    func prefetch(_ block: BlockLocation, path: DFSPath) {
        _ = start(block, path: path)
    }

    private func start(_ block: BlockLocation, path: DFSPath) -> Task<[UInt8], any Error> {
        clock += 1
        if var entry = entries[block.blockID] {
            entry.lastUse = clock
            entries[block.blockID] = entry
            return entry.read
        }
        let client = self.client
        let read = Task { try await client.readBlock(block, of: path) }
        entries[block.blockID] = Entry(read: read, bytes: block.length, lastUse: clock)
        heldBytes += block.length
        evict(keeping: block.blockID)
        return read
    }

    /// Drops least recently used blocks until the cache fits, never the one just asked for.
    private func evict(keeping kept: BlockID) {
        while heldBytes > capacityBytes, entries.count > 1 {
            guard let oldest = entries.filter({ $0.key != kept }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            entries[oldest.key] = nil
            heldBytes -= oldest.value.bytes
        }
    }
}
