import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one block: appends to a temp file, then makes it durable and visible in one step.
///
/// Not shared between tasks: one connection writes one block at a time.
public final class BlockWriter: @unchecked Sendable {
    public let blockID: BlockID
    public let expectedLength: Int
    public private(set) var writtenBytes = 0
    private let store: BlockStore
    private let tempURL: URL
    private var fd: Int32

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

    /// write(2) until every byte is on its way to disk.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard writtenBytes + bytes.count <= expectedLength else {
            throw DFSError(.invalidArgument, "block \(blockID) data is longer than the \(expectedLength) bytes announced")
        }
        var offset = 0
        while offset < bytes.count {
            let result = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if result < 0 {
                if errno == EINTR { continue }
                let reason = errno == ENOSPC ? "disk full" : String(cString: strerror(errno))
                throw DFSError(.ioError, "cannot write block \(blockID): \(reason)")
            }
            offset += result
        }
        writtenBytes += bytes.count
    }

    /// fsync(2)s the data, renames the temp file into place and fsyncs the folder, so the block
    /// survives a crash from the moment this returns.
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
        guard rename(tempURL.path, store.blockURL(blockID).path) == 0 else {
            throw DFSError(.ioError, "cannot store block \(blockID): \(String(cString: strerror(errno)))")
        }
        let folderFD = open(folder.path, O_RDONLY | O_DIRECTORY)
        if folderFD >= 0 {
            fsync(folderFD)
            close(folderFD)
        }
        store.didStore(blockID, length: writtenBytes)
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
