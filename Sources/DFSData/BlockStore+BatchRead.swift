import DFSCore
import DFSSystem
import Foundation

/// Whole small blocks read many at a time, for a `readBlocks` batch.
extension BlockStore {
    /// One block of a batch read, found: where its bytes are and the checksums stored for it.
    private struct Found {
        var position: Int
        var file: OpenFile
        var offset: Int
        var length: Int
        var stored: ChecksumFile
        /// Where its bytes go in the payload.
        var payloadOffset = 0
    }

    /// Reads whole blocks, in order, until their bytes would pass `bytesMax`, checking every
    /// piece against the checksums stored beside it (as ``VerifiedReader`` does). Blocking:
    /// call it on a ``BlockingIO`` thread. Returns an outcome per block and the served
    /// blocks' bytes one after another.
    ///
    /// A pack is opened once for all of its blocks in the batch (under the lock a delete
    /// takes, as ``openForReading(_:)`` does), and blocks that lie side by side in it, as
    /// the blocks of one upload batch do, are read with one pread(2). A block that is not
    /// here, does not fit, or fails its checksums fails alone; a corrupt one is reported
    /// for the next heartbeat.
    func readWholeBlocks(_ blockIDs: [BlockID], bytesMax: Int) -> (outcomes: [ReadBlocksOK.Outcome], payload: [UInt8]) {
        var outcomes = [ReadBlocksOK.Outcome](repeating: .failed(DFSError(.internalError, "not read")), count: blockIDs.count)
        var packFiles: [String: Result<OpenFile, SystemError>] = [:]
        let packed = packs.withLock { index in
            blockIDs.map { blockID -> (pack: String, entry: PackFile.Entry)? in
                guard let (pack, entry) = index.locations[blockID] else { return nil }
                if packFiles[pack] == nil {
                    packFiles[pack] = Result { () throws(SystemError) in try OpenFile.openForReading(packsFolder.appendingPathComponent(pack).path) }
                }
                return (pack, entry)
            }
        }
        var ownFiles: [OpenFile] = []
        defer {
            for case .success(let file) in packFiles.values { file.close() }
            for file in ownFiles { file.close() }
        }

        // Where each block is, in the request's order, while the bytes fit.
        var found: [Found] = []
        var total = 0
        for (position, blockID) in blockIDs.enumerated() {
            do {
                let block: Found
                if let (pack, entry) = packed[position] {
                    guard case .success(let file) = packFiles[pack] else {
                        throw DFSError(.ioError, "cannot open the pack of block \(blockID): \(packFiles[pack]?.failure?.reason ?? "")")
                    }
                    let stored = ChecksumFile(blockLength: entry.length, blockChecksum: entry.checksum, pieceChecksums: entry.pieceChecksums)
                    block = Found(position: position, file: file, offset: entry.offset, length: entry.length, stored: stored)
                } else {
                    let source = try openForReading(blockID)
                    ownFiles.append(source.file)
                    let stored = try checksumsBlocking(of: blockID)
                    guard stored.blockLength == source.length else {
                        reportCorrupt(blockID)
                        throw DFSError(
                            .checksumMismatch, "block \(blockID) on node \(nodeID) has \(source.length) bytes; its checksums cover \(stored.blockLength)")
                    }
                    block = Found(position: position, file: source.file, offset: source.offset, length: source.length, stored: stored)
                }
                guard block.length <= bytesMax - total else {
                    throw DFSError(.tooLarge, "block \(blockID) does not fit in this reply's \(ByteSize.format(bytesMax)); read it alone")
                }
                found.append(block)
                found[found.count - 1].payloadOffset = total
                total += block.length
            } catch {
                outcomes[position] = .failed(DFSError.wrap(error))
            }
        }

        var payload = [UInt8](repeating: 0, count: total)
        var good = [Bool](repeating: true, count: found.count)
        payload.withUnsafeMutableBytes { buffer in
            var start = 0
            while start < found.count {
                // A run: blocks next to each other in one file, read with one pread.
                var end = start + 1
                while end < found.count, found[end].file.fd == found[start].file.fd,
                    found[end].offset == found[end - 1].offset + found[end - 1].length
                {
                    end += 1
                }
                let runStart = found[start].payloadOffset
                let runBytes = found[end - 1].payloadOffset + found[end - 1].length - runStart
                do {
                    try found[start].file.readExact(
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[runStart..<(runStart + runBytes)]), at: found[start].offset)
                } catch {
                    // Read each alone, so one short block spoils only itself.
                    for index in start..<end {
                        let block = found[index]
                        do {
                            try block.file.readExact(
                                into: UnsafeMutableRawBufferPointer(rebasing: buffer[block.payloadOffset..<(block.payloadOffset + block.length)]),
                                at: block.offset)
                        } catch {
                            reportCorrupt(blockIDs[block.position])
                            outcomes[block.position] = .failed(
                                DFSError(.ioError, "cannot read block \(blockIDs[block.position]) on node \(nodeID): \(DFSError.wrap(error).message)"))
                            good[index] = false
                        }
                    }
                }
                start = end
            }
            for (index, block) in found.enumerated() where good[index] {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[block.payloadOffset..<(block.payloadOffset + block.length)])
                let actual = BlockData.checksums(of: bytes)
                guard actual == block.stored.pieceChecksums else {
                    Log.warn("data", "block \(blockIDs[block.position]) is corrupt; reporting it")
                    reportCorrupt(blockIDs[block.position])
                    outcomes[block.position] = .failed(DFSError(.checksumMismatch, "block \(blockIDs[block.position]) on node \(nodeID) is corrupt"))
                    good[index] = false
                    continue
                }
                outcomes[block.position] = .served(length: block.length, checksums: actual)
            }
        }
        guard good.contains(false) else { return (outcomes, payload) }
        // Rare: a block failed after its bytes were placed; the payload keeps only the others.
        var kept: [UInt8] = []
        kept.reserveCapacity(total)
        for (index, block) in found.enumerated() where good[index] {
            kept += payload[block.payloadOffset..<(block.payloadOffset + block.length)]
        }
        return (outcomes, kept)
    }
}
