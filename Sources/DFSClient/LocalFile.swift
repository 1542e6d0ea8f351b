import CNetShims
import DFSCore
import DFSNet
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A local file read or written at offsets (pread/pwrite), shared by the block tasks of one transfer.
final class LocalFile: @unchecked Sendable {
    let path: String
    private(set) var fd: Int32
    let size: Int

    /// Opens an existing regular file for reading.
    init(readingAt path: String) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DFSError(.notFound, "cannot read \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw DFSError(.isADirectory, "\(path) is a folder; copy a file")
        }
        // A FIFO, socket or device has no size to cut into blocks, and opening a FIFO waits
        // for a writer that may never come. Non-blocking, so even a FIFO put in the file's
        // place after the check cannot hold the open; fstat then decides.
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw DFSError(.ioError, "cannot read \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw DFSError(.invalidArgument, "\(path) is not a regular file (a FIFO, socket or device); only files and folders are stored")
        }
        size = Int(info.st_size)
    }

    /// Creates a new file that must not exist yet.
    init(creatingAt path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DFSError(.ioError, "cannot create \(path): \(String(cString: strerror(errno)).lowercased())")
        }
        size = 0
    }

    /// pread(2) exactly `count` bytes at `offset`.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readAll(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            initialized = count
        }
    }

    /// ``read(at:count:)`` into `spare` when it has the room.
    func read(at offset: Int, count: Int, reusing spare: consuming [UInt8]?) throws -> [UInt8] {
        guard var buffer = PayloadBuffers.resized(spare, to: count) else { return try read(at: offset, count: count) }
        try buffer.withUnsafeMutableBytes { try readAll(into: $0, at: offset) }
        return buffer
    }

    /// Fills `buffer` with the bytes at `offset`; the file ending first is an error.
    private func readAll(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let result = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                throw DFSError(.ioError, "\(path) changed while being read (ended at \(offset + done) bytes)")
            }
            done += result
        }
    }

    /// pwrite(2) every byte at `offset`, at most ``Limits/pageCacheWriteBytes`` per call.
    func write(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let count = min(raw.count - done, Limits.pageCacheWriteBytes)
                let result = pwrite(fd, raw.baseAddress! + done, count, off_t(offset + done))
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = errno == ENOSPC ? "disk full" : String(cString: strerror(errno)).lowercased()
                    throw DFSError(.ioError, "cannot write \(path): \(reason)")
                }
                done += result
            }
        }
    }

    /// Reserves the disk space for a file of `bytes` before it is written (fallocate(2)):
    /// a disk too full for it is an error now, not after most of a download, and writes into
    /// reserved space skip the file system's per-page allocation (a download ran about 20%
    /// faster). File systems that cannot reserve are written as usual.
    func reserve(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        if dfs_reserve_space(fd, Int64(bytes)) != 0 && (errno == ENOSPC || errno == EDQUOT) {
            throw DFSError(.ioError, "cannot write \(path): not enough disk space for \(ByteSize.format(bytes))")
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 else {
            throw DFSError(.ioError, "cannot sync \(path): \(String(cString: strerror(errno)).lowercased())")
        }
    }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { close() }
}
