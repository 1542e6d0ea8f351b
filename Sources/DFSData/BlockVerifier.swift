import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// Re-reads blocks the meta server doubts, against the checksums stored beside them, and
/// records the outcome for the next heartbeat: `verified` (with what the block holds) when
/// every piece checks, `corrupt` when one does not, `deleted` when the block is not here.
///
/// A client's report that a replica served bad bytes is only a hint: the client's memory, its
/// buffers or the network may be at fault. The meta server asks the replica's node, which
/// alone can look at its disk, and only that node's answer condemns a replica.
///
/// One block at a time, off the cooperative pool (`BlockingIO`), in a task of its own: the
/// heartbeats that bring the requests and carry the answers never wait for a disk read.
public final class BlockVerifier: Sendable {
    /// Blocks waiting to be re-read. The meta server hands out a few per heartbeat and asks
    /// again for any it heard nothing about, so requests beyond this are simply dropped.
    public static let queuedMax = 1024

    private let store: BlockStore
    private let state = Mutex(State())
    /// Blocks re-read to the end so far, whatever the outcome (for tests and logs).
    public let checkedBlocks = Mutex(0)

    private struct State {
        var queue: [BlockID] = []
        var worker: Task<Void, Never>?
        var stopped = false
    }

    public init(store: BlockStore) {
        self.store = store
    }

    /// Queues blocks to re-read; a block already waiting is not queued twice.
    public func enqueue(_ blockIDs: [BlockID]) {
        guard !blockIDs.isEmpty else { return }
        state.withLock { state in
            guard !state.stopped else { return }
            for blockID in blockIDs where state.queue.count < Self.queuedMax && !state.queue.contains(blockID) {
                state.queue.append(blockID)
            }
            if state.worker == nil, !state.queue.isEmpty {
                state.worker = Task { await self.drain() }
            }
        }
    }

    /// Stops re-reading and waits for the block under way; what was queued is forgotten (the
    /// meta server asks again).
    public func stop() async {
        let worker = state.withLock { state -> Task<Void, Never>? in
            state.stopped = true
            state.queue = []
            return state.worker
        }
        worker?.cancel()
        await worker?.value
    }

    private func drain() async {
        while true {
            let next = state.withLock { state -> BlockID? in
                guard !state.queue.isEmpty, !Task.isCancelled else {
                    state.worker = nil
                    return nil
                }
                return state.queue.removeFirst()
            }
            guard let next else { return }
            do {
                record(next, try await Self.check(next, in: store))
                checkedBlocks.withLock { $0 += 1 }
            } catch {
                // Cancelled by a stop: the answer is left for the meta server to ask again.
                return
            }
        }
    }

    private func record(_ blockID: BlockID, _ outcome: Outcome) {
        switch outcome {
        case .intact(let summary):
            Log.info(DataServer.component, "block \(blockID) was reported bad, but every piece checks; telling the meta server")
            store.reportVerified(summary)
        case .damaged(let reason):
            Log.warn(DataServer.component, "block \(blockID) was reported bad and is: \(reason)")
            store.reportCorrupt(blockID)
        case .absent:
            store.reportGone(blockID)
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// Every piece matches its stored checksum; what the block holds.
        case intact(BlockSummary)
        /// The bytes, or the checksums beside them, are bad.
        case damaged(String)
        /// The node does not have the block.
        case absent
    }

    /// Reads the whole block in chunks of ``Limits/writeFrameBytes``, each on a blocking-I/O
    /// thread, checking every 64 KiB piece against the stored checksums and the whole block
    /// against the stored whole-block checksum. Throws only `CancellationError`.
    public static func check(_ blockID: BlockID, in store: BlockStore) async throws -> Outcome {
        let source: BlockSource
        do {
            source = try await store.open(blockID)
        } catch let error as DFSError where error.code == .notFound {
            return .absent
        } catch {
            return .damaged(DFSError.wrap(error).message)
        }
        defer { source.close() }
        let stored: ChecksumFile
        do {
            stored = try await store.checksums(of: blockID)
        } catch {
            return .damaged(DFSError.wrap(error).message)
        }
        guard stored.blockLength == source.length else {
            return .damaged("it has \(source.length) bytes; its checksums cover \(stored.blockLength)")
        }
        var whole = CRC32C()
        var offset = 0
        while offset < source.length {
            try Task.checkCancellation()
            let count = min(Limits.writeFrameBytes, source.length - offset)
            let (file, start) = (source.file, source.offset + offset)
            let pieces: [UInt32]
            do {
                pieces = try await BlockingIO.run { BlockData.checksums(of: try DataServer.readRange(file, offset: start, count: count)) }
            } catch {
                return .damaged("it cannot be read at \(offset): \(DFSError.wrap(error).message)")
            }
            let first = offset / Limits.pieceBytes
            guard first + pieces.count <= stored.pieceChecksums.count,
                pieces == Array(stored.pieceChecksums[first..<(first + pieces.count)])
            else {
                return .damaged("a piece near offset \(offset) does not match its checksum")
            }
            for (index, piece) in pieces.enumerated() {
                whole.append(checksum: piece, length: min(Limits.pieceBytes, count - index * Limits.pieceBytes))
            }
            offset += count
        }
        guard whole.value == stored.blockChecksum else {
            return .damaged("its pieces check, but not its whole-block checksum")
        }
        return .intact(BlockSummary(blockID: blockID, length: source.length, checksum: whole.value))
    }
}
