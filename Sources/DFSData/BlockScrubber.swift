import DFSCore
import DFSNet
import DFSSystem

/// Re-reads every block at a bounded rate, checking it against its stored checksums, so a
/// replica that rots on disk is found and replaced before a reader needs it. A bad block is
/// reported to the store, and so to the meta server in the next heartbeat.
public final class BlockScrubber: Sendable {
    private let store: BlockStore
    private let reader: VerifiedReader
    private let bytesPerSecond: Int
    private let interval: Duration
    /// Every block verified since start (for tests and logs).
    public let scrubbedBlocks = Mutex(0)

    init(store: BlockStore, reader: VerifiedReader, bytesPerSecond: Int, interval: Duration) {
        self.store = store
        self.reader = reader
        self.bytesPerSecond = bytesPerSecond
        self.interval = interval
    }

    /// Scrubs pass after pass, resting `interval` between them, until cancelled.
    func run() async {
        let rate = Double(bytesPerSecond)
        while !Task.isCancelled {
            let passStarted = ContinuousClock.now
            let blocks = store.summaries
            if blocks.isEmpty {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                continue
            }
            for block in blocks {
                guard !Task.isCancelled else { return }
                let started = ContinuousClock.now
                do {
                    let source = try await store.open(block.blockID)
                    defer { source.close() }
                    let length = source.length
                    let stored = try await reader.storedChecksums(block.blockID, length: length)
                    var offset = 0
                    while offset < length {
                        let count = min(Limits.writeFrameBytes, length - offset)
                        _ = try await reader.readVerifiedPieces(block.blockID, source: source, offset: offset, count: count, stored: stored)
                        offset += count
                        store.metrics.scrubbedBytes.increment(by: Int64(count))
                        // Sleep off the time these bytes are owed at the allowed rate.
                        let owed = Double(offset) / rate - (ContinuousClock.now - started).inSeconds
                        if owed > 0 { try await Task.sleep(for: .milliseconds(Int(owed * 1000))) }
                    }
                    scrubbedBlocks.withLock { $0 += 1 }
                } catch is CancellationError {
                    return
                } catch {
                    // Deleted meanwhile, or corrupt (already reported): go on with the next.
                }
            }
            Log.debug(DataServer.component, "scrubbed \(blocks.count) blocks in \(ContinuousClock.now - passStarted)")
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
