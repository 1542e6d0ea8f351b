import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// Writes one block: appends to a temp file, verifying each piece's checksum as it arrives,
/// then makes block and checksums durable and visible.
///
/// Not shared between tasks: one connection writes one block at a time.
public final class BlockWriter: @unchecked Sendable {
    public let blockID: BlockID
    public let expectedLength: Int
    public private(set) var writtenBytes = 0
    /// One CRC32C per 64 KiB piece written so far.
    private var pieceChecksums: [UInt32] = []
    private var blockChecksum = CRC32C()
    private let store: BlockStore
    private let tempURL: URL
    /// The temp file, open until the group sync closes it (or the writer is dropped).
    private var file: OpenFile?
    /// The block id is still claimed by this writer (see `BlockStore.claim`).
    private var claimed = true

    /// CRC32C of everything written so far.
    public var checksum: UInt32 { blockChecksum.value }

    init(store: BlockStore, blockID: BlockID, expectedLength: Int, tempURL: URL) throws {
        self.store = store
        self.blockID = blockID
        self.expectedLength = expectedLength
        self.tempURL = tempURL
        do throws(SystemError) {
            file = try OpenFile.createNew(tempURL.path)
        } catch {
            throw DFSError(.ioError, "cannot create a block file: \(error.reason)")
        }
    }

    /// Checks a frame of block data against its checksums, then write(2)s it.
    ///
    /// Frames must carry whole 64 KiB pieces, but for the block's last, so that pieces line
    /// up with the pieces of the block's checksum file.
    public func append(_ bytes: [UInt8], checksums: BlockData) throws {
        guard writtenBytes + bytes.count <= expectedLength else {
            throw DFSError(.invalidArgument, "block \(blockID) data is longer than the \(expectedLength) bytes announced")
        }
        guard writtenBytes + bytes.count == expectedLength || bytes.count % Limits.pieceBytes == 0 else {
            throw DFSError(.protocolError, "block \(blockID) frame of \(bytes.count) bytes is not a whole number of 64 KiB pieces")
        }
        let frameChecksum = try checksums.verify(bytes, what: "block \(blockID) at offset \(writtenBytes)")
        guard let file else { throw DFSError(.internalError, "block \(blockID) is already staged") }
        try BlockStore.writeAll(file, bytes, what: "block \(blockID)")
        startWriteback(from: writtenBytes, to: writtenBytes + bytes.count)
        blockChecksum.append(checksum: frameChecksum, length: bytes.count)
        pieceChecksums += checksums.checksums
        writtenBytes += bytes.count
    }

    /// Hands every writeback window completed by the bytes `start..<end` to the device now,
    /// without waiting: the block then reaches the disk while it is still arriving, and the
    /// flush at its end (and the device's queue) has little left to do. Without this, all of
    /// a block's bytes waited for that flush. Only a hint: a failure here shows in the flush.
    private func startWriteback(from start: Int, to end: Int) {
        let window = Limits.writebackWindowBytes
        let first = start / window
        let last = end / window
        guard last > first else { return }
        file?.startWriteback(offset: first * window, length: (last - first) * window)
    }

    /// Makes the block durable and visible: from the moment this returns it survives a crash.
    ///
    /// The data and a checksum file are written to temp files, then the store's group sync
    /// flushes them, renames both into place (checksums first) and flushes the folder, for
    /// every block that finished at about the same time at once.
    public func commit() async throws {
        let staged = try await BlockingIO.run { try self.stage() }
        do {
            try await store.makeDurable(staged)
        } catch {
            _ = try? await BlockingIO.run {
                FileSystem.removeQuietly(staged.blockTemp)
                FileSystem.removeQuietly(staged.checksumTemp)
            }
            throw error
        }
        store.didStore(blockID, length: writtenBytes, checksum: checksum)
        releaseClaim()
    }

    /// Closes the data file and writes the checksum file beside it, both still temp files.
    private func stage() throws -> StagedBlock {
        guard writtenBytes == expectedLength else {
            throw DFSError(.invalidArgument, "block \(blockID) got \(writtenBytes) of \(expectedLength) bytes")
        }
        let checksums = ChecksumFile(blockLength: writtenBytes, blockChecksum: checksum, pieceChecksums: pieceChecksums)
        let checksumTemp = tempURL.appendingPathExtension("crc").path
        guard let blockFile = file else { throw DFSError(.internalError, "block \(blockID) is already staged") }
        let checksumFile = try store.writeChecksumFile(checksums, for: blockID, to: checksumTemp)
        file = nil
        return StagedBlock(
            blockID: blockID, blockFile: blockFile, checksumFile: checksumFile, blockTemp: tempURL.path, checksumTemp: checksumTemp,
            blockPath: store.blockURL(blockID).path, checksumPath: store.checksumURL(blockID).path)
    }

    /// Throws the partial block away and gives its block id back at once.
    public func abort() {
        file?.close()
        file = nil
        FileSystem.removeQuietly(tempURL.path)
        releaseClaim()
    }

    /// Gives the block id back, once: after the commit, an abort, or when the writer goes.
    private func releaseClaim() {
        guard claimed else { return }
        claimed = false
        store.release([blockID])
    }

    deinit {
        if let file {
            file.close()
            FileSystem.removeQuietly(tempURL.path)
        }
        // A writer dropped unfinished gives its block id back too, whenever the last
        // reference to it goes (which may be on another thread, a moment later).
        releaseClaim()
    }
}
