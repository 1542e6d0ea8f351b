#if canImport(Glibc)
    import Glibc
#endif

/// An open file or folder of the mount, named by the handle number the kernel holds.
enum OpenHandle: Sendable {
    case read(ReadHandle)
    case write(WriteHandle)
    case folder(DirectoryHandle)
}

/// The handles the kernel holds, and which inodes have a file open for writing.
struct HandleTable {
    /// Open files and folders one mount holds at most; the next open is EMFILE.
    static let handlesMax = 65_536

    private(set) var handles: [UInt64: OpenHandle] = [:]
    private var nextHandle: UInt64 = 1
    /// The newest writer of each inode open for writing: its staged bytes are the file as
    /// this mount shows it (size, reads) until it is released. Only the newest: an older
    /// writer was staged from an older version, and the kernel releases a closed file
    /// some time after the close returned, so an older writer whose release is still on
    /// its way must never show through again.
    private(set) var writers: [UInt64: WriteHandle] = [:]

    mutating func add(_ handle: OpenHandle) throws -> UInt64 {
        guard handles.count < Self.handlesMax else {
            throw MountError(EMFILE, "the mount holds \(Self.handlesMax) open files and folders")
        }
        let number = nextHandle
        nextHandle += 1
        handles[number] = handle
        if case .write(let writer) = handle { writers[writer.inode] = writer }
        return number
    }

    mutating func remove(_ number: UInt64) -> OpenHandle? {
        guard let handle = handles.removeValue(forKey: number) else { return nil }
        if case .write(let writer) = handle, writers[writer.inode] === writer,
            !handles.values.contains(where: { if case .write(let other) = $0 { other === writer } else { false } })
        {
            writers[writer.inode] = nil
        }
        return handle
    }

    /// The readers of `inode` open here (each open for reading has its own).
    func readers(of inode: UInt64) -> [ReadHandle] {
        handles.values.compactMap { open in
            if case .read(let reader) = open, reader.inode == inode { reader } else { nil }
        }
    }

    func handle(_ number: UInt64) throws -> OpenHandle {
        guard let handle = handles[number] else { throw MountError(EBADF, "no open handle \(number)") }
        return handle
    }
}
