import DFSCore
import DFSNet
import DFSSystem

/// Reads stored blocks checking every piece against the checksums stored beside them, for the
/// paths that read bytes themselves: the last piece of a range read, repair copies and the
/// scrubber. A mismatch is reported to the store (for the next heartbeat) and thrown.
struct VerifiedReader: Sendable {
    let store: BlockStore

    /// The block's stored checksums, which must describe a block of this length.
    func storedChecksums(_ blockID: BlockID, length: Int) async throws -> ChecksumFile {
        do {
            let stored = try await store.checksums(of: blockID)
            guard stored.blockLength == length else {
                throw DFSError(.checksumMismatch, "block \(blockID) on node \(store.nodeID) has \(length) bytes; its checksums cover \(stored.blockLength)")
            }
            return stored
        } catch let error as DFSError where error.code == .checksumMismatch {
            store.reportCorrupt(blockID)
            throw error
        }
    }

    /// Reads `count` bytes at `offset` (a multiple of 64 KiB) and checks every piece against
    /// the checksums stored beside the block. Returns the bytes with the checksums of their
    /// pieces, ready to send: the verified stored values, so nothing is computed twice.
    func readVerifiedPieces(
        _ blockID: BlockID, source: BlockSource, offset: Int, count: Int, stored: ChecksumFile
    ) async throws -> (bytes: [UInt8], checksums: [UInt32]) {
        let file = source.file
        let start = source.offset + offset
        let pieceStart = offset / Limits.pieceBytes
        let readCount = min(stored.blockLength - offset, (count + Limits.pieceBytes - 1) / Limits.pieceBytes * Limits.pieceBytes)
        var bytes = try await BlockingIO.run { try DataServer.readRange(file, offset: start, count: readCount) }
        let actual = BlockData.checksums(of: bytes)
        guard pieceStart + actual.count <= stored.pieceChecksums.count,
            actual == Array(stored.pieceChecksums[pieceStart..<(pieceStart + actual.count)])
        else {
            Log.warn(DataServer.component, "block \(blockID) is corrupt near offset \(offset); reporting it")
            store.reportCorrupt(blockID)
            throw DFSError(.checksumMismatch, "block \(blockID) on node \(store.nodeID) is corrupt near offset \(offset)")
        }
        if readCount > count {
            // A range that ends inside a piece: the cut piece needs its own checksum.
            bytes.removeLast(readCount - count)
            return (bytes, BlockData.checksums(of: bytes))
        }
        return (bytes, actual)
    }
}

extension DataServer {
    /// pread(2) exactly `count` bytes (``OpenFile/readExact(count:at:)``); a block file
    /// shorter than its index says is an error.
    static func readRange(_ file: OpenFile, offset: Int, count: Int) throws -> [UInt8] {
        do {
            return try file.readExact(count: count, at: offset)
        } catch let error as EndOfFileError {
            throw DFSError(.ioError, "block file ended early at \(offset + error.found)")
        } catch {
            throw DFSError.wrap(error)
        }
    }
}
