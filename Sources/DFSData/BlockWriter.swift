import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one block: appends to a temp file, verifying each piece's checksum as it arrives,
/// then makes block and checksums durable and visible.
///
/// Not shared between tasks: one connection writes one block at a time.
public final class BlockWriter: @unchecked Sendable {
    public let blockID: BlockID
    public let expectedLength: Int
    public private(set) var writtenBytes = 0
    private var chunkChecksums: [UInt32] = []
    private var blockChecksum = CRC32C()
    private let store: BlockStore
    private let tempURL: URL
    private var fd: Int32

    /// CRC32C of everything written so far.
    public var checksum: UInt32 { blockChecksum.value }

    init(store: BlockStore, blockID: BlockID, expectedLength: Int, tempURL: URL) throws {
        self.store = store
        self.blockID = blockID
        self.expectedLength = expectedLength
        self.tempURL = tempURL
        fd = open(tempURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DFSError(.ioError, "cannot create a block file: \(String(cString: strerror(errno)))")
        }
    }

    /// Checks a frame of block data against its checksums, then write(2)s it.
    ///
    /// Frames must carry whole 64 KiB pieces, but for the block's last, so that pieces line
    /// up with the block's chunks.
    public func append(_ bytes: [UInt8], checksums: BlockData) throws {
        guard writtenBytes + bytes.count <= expectedLength else {
            throw DFSError(.invalidArgument, "block \(blockID) data is longer than the \(expectedLength) bytes announced")
        }
        guard writtenBytes + bytes.count == expectedLength || bytes.count % Limits.checksumChunkBytes == 0 else {
            throw DFSError(.protocolError, "block \(blockID) frame of \(bytes.count) bytes is not a whole number of 64 KiB pieces")
        }
        try checksums.verify(bytes, what: "block \(blockID) at offset \(writtenBytes)")
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let result = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = errno == ENOSPC ? "disk full" : String(cString: strerror(errno))
                    throw DFSError(.ioError, "cannot write block \(blockID): \(reason)")
                }
                offset += result
            }
            blockChecksum.update(raw)
        }
        chunkChecksums += checksums.checksums
        writtenBytes += bytes.count
    }

    /// fsync(2)s the data, writes the checksum file, renames both into place (checksums
    /// first) and fsyncs the folder, so the block survives a crash from the moment this returns.
    public func commit() throws {
        guard writtenBytes == expectedLength else {
            throw DFSError(.invalidArgument, "block \(blockID) got \(writtenBytes) of \(expectedLength) bytes")
        }
        guard fsync(fd) == 0 else {
            throw DFSError(.ioError, "cannot sync block \(blockID): \(String(cString: strerror(errno)))")
        }
        close(fd)
        fd = -1
        let folder = store.shardFolder(blockID)
        if mkdir(folder.path, 0o755) != 0 && errno != EEXIST {
            throw DFSError(.ioError, "cannot create \(folder.path): \(String(cString: strerror(errno)))")
        }
        let checksums = ChecksumFile(blockLength: writtenBytes, blockChecksum: checksum, chunkChecksums: chunkChecksums)
        try store.writeChecksumFile(checksums, for: blockID, tempURL: tempURL.appendingPathExtension("crc"))
        // A block file is only ever in place with its checksum file beside it.
        guard rename(tempURL.path, store.blockURL(blockID).path) == 0 else {
            throw DFSError(.ioError, "cannot store block \(blockID): \(String(cString: strerror(errno)))")
        }
        let folderFD = open(folder.path, O_RDONLY | O_DIRECTORY)
        if folderFD >= 0 {
            fsync(folderFD)
            close(folderFD)
        }
        store.didStore(blockID, length: writtenBytes, checksum: checksum)
    }

    /// Throws the partial block away.
    public func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(tempURL.path)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(tempURL.path)
        }
    }
}
