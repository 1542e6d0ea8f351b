import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// A local file read or written at offsets (pread/pwrite), shared by the block tasks of one transfer.
final class LocalFile: @unchecked Sendable {
    let path: String
    private var file: OpenFile?
    let size: Int

    /// Opens an existing regular file for reading.
    init(readingAt path: String) throws {
        self.path = path
        let status: FileStatus
        do throws(SystemError) {
            status = try FileSystem.status(path)
        } catch {
            throw DFSError(.notFound, "cannot read \(path): \(error.reason)")
        }
        if status.kind == .folder {
            throw DFSError(.isADirectory, "\(path) is a folder; copy a file")
        }
        // A FIFO, socket or device has no size to cut into blocks, and opening a FIFO waits
        // for a writer that may never come. Non-blocking, so even a FIFO put in the file's
        // place after the check cannot hold the open; fstat then decides.
        let opened: OpenFile
        do throws(SystemError) {
            opened = try OpenFile.openForReading(path, options: .nonBlocking)
        } catch {
            throw DFSError(.ioError, "cannot read \(path): \(error.reason)")
        }
        guard let status = try? opened.status(), status.kind == .regular else {
            opened.close()
            throw DFSError(.invalidArgument, "\(path) is not a regular file (a FIFO, socket or device); only files and folders are stored")
        }
        file = opened
        size = status.size
    }

    /// Creates a new file that must not exist yet.
    init(creatingAt path: String) throws {
        self.path = path
        do throws(SystemError) {
            file = try OpenFile.createNew(path, .readWrite, permissions: [.ownerReadWrite])
        } catch {
            throw DFSError(.ioError, "cannot create \(path): \(error.reason)")
        }
        size = 0
    }

    /// Creates a new file at `path` as ``init(creatingAt:)`` does, or returns nil when
    /// something (a file, a folder) has that name already.
    static func creatingIfAbsent(_ path: String) throws -> LocalFile? {
        do throws(SystemError) {
            return LocalFile(path: path, opened: try OpenFile.createNew(path, .readWrite, permissions: [.ownerReadWrite]))
        } catch  where error.errno == .fileExists {
            return nil
        } catch {
            throw DFSError(.ioError, "cannot create \(path): \(error.reason)")
        }
    }

    private init(path: String, opened: OpenFile) {
        self.path = path
        file = opened
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
        do {
            try openFile().readExact(into: buffer, at: offset)
        } catch let error as EndOfFileError {
            throw DFSError(.ioError, "\(path) changed while being read (ended at \(error.offset + error.found) bytes)")
        } catch let error as SystemError {
            throw DFSError(.ioError, "cannot read \(path): \(error.reason)")
        }
    }

    /// pwrite(2) every byte at `offset`, at most ``Limits/pageCacheWriteBytes`` per call.
    func write(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// ``write(_:at:)`` of bytes in place (a range of a payload that holds many files).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        do {
            try openFile().writeAll(bytes, at: offset, pieceBytes: Limits.pageCacheWriteBytes)
        } catch let error as SystemError {
            throw DFSError(.ioError, "cannot write \(path): \(error.errno == .noSpace ? "disk full" : error.reason)")
        }
    }

    /// Reserves the disk space for a file of `bytes` before it is written (fallocate(2)):
    /// a disk too full for it is an error now, not after most of a download, and writes into
    /// reserved space skip the file system's per-page allocation (a download ran about 20%
    /// faster). File systems that cannot reserve are written as usual.
    func reserve(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        do {
            try openFile().reserveSpace(bytes)
        } catch let error as SystemError where error.errno == .noSpace || error.errno == .diskQuotaExceeded {
            throw DFSError(.ioError, "cannot write \(path): not enough disk space for \(ByteSize.format(bytes))")
        } catch {
            // A file system that cannot reserve (EOPNOTSUPP) is written as usual.
        }
    }

    /// The open descriptor, for sendfile(2).
    func descriptor() throws -> Int32 {
        try openFile().fd
    }

    func sync() throws {
        let file = try openFile()
        do throws(SystemError) {
            try file.sync()
        } catch {
            throw DFSError(.ioError, "cannot sync \(path): \(error.reason)")
        }
    }

    /// fchmod(2) to rw-r--r--: a finished download takes the mode of a file made as usual
    /// (it was made rw------- while it was being written).
    func setDefaultPermissions() throws {
        try openFile().setPermissions(.fileDefault)
    }

    /// The open file; a closed one is a programmer's error, reported as an internal error.
    private func openFile() throws(DFSError) -> OpenFile {
        guard let file else { throw DFSError(.internalError, "\(path) is already closed") }
        return file
    }

    func close() {
        file?.close()
        file = nil
    }

    deinit { close() }
}
