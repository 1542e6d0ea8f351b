import CNetShims
import DFSCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// An open file and the path it was opened at, so that every error names the file: the
/// project's file calls, each looping short reads and writes and retrying EINTR once (in
/// ``retryingInterrupts(_:)``), each failure a ``SystemError`` with the errno and the path.
///
/// A value, not an owner: whoever opened it closes it (``close()``), once.
public struct OpenFile: Sendable {
    public let descriptor: FileDescriptor
    /// The path errors name.
    public let path: String

    public init(_ descriptor: FileDescriptor, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// A descriptor opened elsewhere (a pack's, a block's), with the path errors name.
    public init(adopting fd: Int32, path: String) {
        self.init(FileDescriptor(rawValue: fd), path: path)
    }

    /// The raw descriptor, for calls that take one (sendfile, epoll).
    public var fd: Int32 { descriptor.rawValue }

    // MARK: Opening

    /// open(2) with O_CLOEXEC always: a child process started by posix_spawn never inherits
    /// a file it does not know about.
    public static func open(
        _ path: String, _ mode: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions = [], permissions: FilePermissions? = nil
    ) throws(SystemError) -> OpenFile {
        let flags = mode.rawValue | options.rawValue | O_CLOEXEC
        let fd = retryingInterrupts {
            if let permissions { return Glibc.open(path, flags, permissions.rawValue) }
            return Glibc.open(path, flags)
        }
        guard fd >= 0 else { throw .current("open", path) }
        return OpenFile(adopting: fd, path: path)
    }

    /// An existing file, for reading.
    public static func openForReading(_ path: String, options: FileDescriptor.OpenOptions = []) throws(SystemError) -> OpenFile {
        try open(path, .readOnly, options: options)
    }

    /// A new file that must not exist yet (O_CREAT | O_EXCL), for writing.
    public static func createNew(_ path: String, _ mode: FileDescriptor.AccessMode = .writeOnly, permissions: FilePermissions = .fileDefault)
        throws(SystemError) -> OpenFile
    {
        try open(path, mode, options: [.create, .exclusiveCreate], permissions: permissions)
    }

    /// A file made empty, or new (O_CREAT | O_TRUNC), for writing.
    public static func createOrTruncate(_ path: String, permissions: FilePermissions = .fileDefault) throws(SystemError) -> OpenFile {
        try open(path, .writeOnly, options: [.create, .truncate], permissions: permissions)
    }

    /// A file written at its end, made if it is not there (O_CREAT | O_APPEND).
    public static func openForAppending(_ path: String, permissions: FilePermissions = .fileDefault) throws(SystemError) -> OpenFile {
        try open(path, .writeOnly, options: [.create, .append], permissions: permissions)
    }

    /// A folder, to flush the names in it (O_DIRECTORY).
    public static func openFolder(_ path: String) throws(SystemError) -> OpenFile {
        try open(path, .readOnly, options: [.directory])
    }

    // MARK: Reading

    /// read(2) once into `buffer`: the bytes read, 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        let result = retryingInterrupts { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        guard result >= 0 else { throw .current("read", path) }
        return result
    }

    /// pread(2) once into `buffer` at `offset`: the bytes read, 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        let result = retryingInterrupts { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
        guard result >= 0 else { throw .current("pread", path) }
        return result
    }

    /// Every byte from the current position to the end of the file (read(2) until it
    /// returns 0), in reads of `pieceBytes`.
    public func readToEnd(pieceBytes: Int = 64 * 1024) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: pieceBytes)
        while true {
            let count = try piece.withUnsafeMutableBytes { buffer in Result { () throws(SystemError) in try read(into: buffer) } }.get()
            if count == 0 { return bytes }
            bytes += piece[0..<count]
        }
    }

    /// Fills `buffer` from the current position, with as many read(2) calls as it takes;
    /// the file ending first is an ``EndOfFileError``.
    public func readExact(into buffer: UnsafeMutableRawBufferPointer) throws {
        try Self.fill(buffer, at: 0, path: path) { (part, _) throws(SystemError) in try read(into: part) }
    }

    /// Fills `buffer` with the bytes at `offset`, with as many pread(2) calls as it takes; the
    /// file ending first is an ``EndOfFileError``.
    public func readExact(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        try Self.fill(buffer, at: offset, path: path) { (part, position) throws(SystemError) in try read(into: part, at: position) }
    }

    /// Exactly `count` bytes at `offset` (see ``readExact(into:at:)``).
    public func readExact(count: Int, at offset: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readExact(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            initialized = count
        }
    }

    /// The loop under every exact read: `readPart` is called for what is still missing,
    /// with its offset, until `buffer` is full; 0 from it (the end of the file) is an
    /// ``EndOfFileError`` naming `path`. Public so that a test can stand in a reader that
    /// returns a few bytes at a time.
    public static func fill(
        _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String,
        using readPart: (UnsafeMutableRawBufferPointer, Int) throws(SystemError) -> Int
    ) throws {
        var done = 0
        while done < buffer.count {
            let count = try readPart(UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), offset + done)
            guard count > 0 else { throw EndOfFileError(path: path, offset: offset, wanted: buffer.count, found: done) }
            done += count
        }
    }

    // MARK: Writing

    /// write(2) every byte of `bytes`, in calls of at most `pieceBytes`; a short write is
    /// continued.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, pieceBytes: Int = Int.max) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let count = min(bytes.count - done, pieceBytes)
            let result = retryingInterrupts { Glibc.write(fd, bytes.baseAddress! + done, count) }
            guard result >= 0 else { throw .current("write", path) }
            done += result
        }
    }

    /// ``writeAll(_:pieceBytes:)`` of an array.
    public func writeAll(_ bytes: [UInt8], pieceBytes: Int = Int.max) throws(SystemError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try writeAll(raw, pieceBytes: pieceBytes) } }.get()
    }

    /// pwrite(2) every byte of `bytes` at `offset`, in calls of at most `pieceBytes`; a short
    /// write is continued.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int, pieceBytes: Int = Int.max) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let count = min(bytes.count - done, pieceBytes)
            let result = retryingInterrupts { Glibc.pwrite(fd, bytes.baseAddress! + done, count, off_t(offset + done)) }
            guard result >= 0 else { throw .current("pwrite", path) }
            done += result
        }
    }

    /// ``writeAll(_:at:pieceBytes:)`` of an array.
    public func writeAll(_ bytes: [UInt8], at offset: Int, pieceBytes: Int = Int.max) throws(SystemError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try writeAll(raw, at: offset, pieceBytes: pieceBytes) } }.get()
    }

    // MARK: Flushing, size, hints

    /// fsync(2): the file's bytes and its size are on the device when this returns.
    public func sync() throws(SystemError) {
        guard retryingInterrupts({ fsync(fd) }) == 0 else { throw .current("fsync", path) }
    }

    /// fdatasync(2): the file's bytes (and its size, when it changed) are on the device.
    public func syncData() throws(SystemError) {
        guard retryingInterrupts({ fdatasync(fd) }) == 0 else { throw .current("fdatasync", path) }
    }

    /// fstat(2) of the open file.
    public func status() throws(SystemError) -> FileStatus {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .current("fstat", path) }
        return FileStatus(info)
    }

    /// fallocate(2) of `length` bytes from 0, mode 0 (CNetShims' `dfs_reserve_space`):
    /// reserves the space without writing it. File systems that cannot (EOPNOTSUPP) throw too.
    public func reserveSpace(_ length: Int) throws(SystemError) {
        guard retryingInterrupts({ dfs_reserve_space(fd, Int64(length)) }) == 0 else { throw .current("fallocate", path) }
    }

    /// sync_file_range(2) with SYNC_FILE_RANGE_WRITE (CNetShims' `dfs_start_writeback`):
    /// starts writing the range to the device without waiting. Only a hint; a failure shows
    /// in the flush that follows, so it is not reported.
    public func startWriteback(offset: Int, length: Int) {
        _ = retryingInterrupts { dfs_start_writeback(fd, Int64(offset), Int64(length)) }
    }

    /// posix_fadvise(2) with POSIX_FADV_DONTNEED over the whole file: its clean pages leave the
    /// page cache now instead of crowding it until memory runs short. For bytes already on
    /// the device that nobody is expected to read soon. Only a hint; failures are ignored.
    public func dropCachedPages() {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// ftruncate(2): the file now has `size` bytes (zeros past its old end, unwritten).
    public func resize(to size: Int) throws(SystemError) {
        guard retryingInterrupts({ ftruncate(fd, off_t(size)) }) == 0 else { throw .current("ftruncate", path) }
    }

    /// fchmod(2).
    public func setPermissions(_ permissions: FilePermissions) throws(SystemError) {
        guard fchmod(fd, permissions.rawValue) == 0 else { throw .current("fchmod", path) }
    }

    /// close(2). Its failure leaves nothing to do: the descriptor is gone either way on Linux.
    public func close() {
        _ = Glibc.close(fd)
    }
}

extension FilePermissions {
    /// rw-r--r--, the mode of every file the project makes but the client's downloads.
    public static let fileDefault: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
}

/// What stat(2) tells of a file that the project uses.
public struct FileStatus: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case regular, folder, symbolicLink, fifo, socket, characterDevice, blockDevice, other
    }

    public var kind: Kind
    public var size: Int

    public init(kind: Kind, size: Int) {
        self.kind = kind
        self.size = size
    }

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .folder
        case S_IFLNK: kind = .symbolicLink
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        default: kind = .other
        }
        size = Int(info.st_size)
    }
}
