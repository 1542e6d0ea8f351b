import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A finished block in temp files: its data and its checksum file, both still open.
struct StagedBlock: Sendable {
    let blockID: BlockID
    /// Open descriptors of the two temp files; the group sync closes them.
    let blockFD: Int32
    let checksumFD: Int32
    let blockTemp: String
    let checksumTemp: String
    let blockPath: String
    let checksumPath: String
}

/// A finished pack in a temp file, still open; its checksums are inside it, so it has no
/// checksum file.
struct StagedPack: Sendable {
    /// The pack's first block, which errors name; nil only for a pack of no blocks.
    let firstBlockID: BlockID?
    /// Open descriptor of the temp file; the group sync closes it.
    let fd: Int32
    let temp: String
    let path: String
}

/// What the group sync makes durable and visible: a block (two files) or a pack (one).
enum StagedWrite: Sendable {
    case block(StagedBlock)
    case pack(StagedPack)

    /// What errors name: the block, or a pack's first block.
    var subject: String {
        switch self {
        case .block(let block): return "block \(block.blockID)"
        case .pack(let pack): return pack.firstBlockID.map { "block \($0)" } ?? "pack \((pack.path as NSString).lastPathComponent)"
        }
    }

    /// The open temp files, the data first; each paired with what a failed flush of it says.
    var descriptors: [(fd: Int32, failure: String)] {
        switch self {
        case .block(let block): return [(block.blockFD, "sync"), (block.checksumFD, "sync the checksum file of")]
        case .pack(let pack): return [(pack.fd, "sync")]
        }
    }

    /// Temp names and final names, in the order they are renamed: a block's checksum file
    /// first, so that a block file is only ever in place with its checksums.
    var renames: [(temp: String, path: String, failure: String)] {
        switch self {
        case .block(let block):
            return [(block.checksumTemp, block.checksumPath, "store the checksum file of"), (block.blockTemp, block.blockPath, "store")]
        case .pack(let pack):
            return [(pack.temp, pack.path, "store")]
        }
    }

    /// The folder the final names are made in.
    var folder: String {
        switch self {
        case .block(let block): return (block.blockPath as NSString).deletingLastPathComponent
        case .pack(let pack): return (pack.path as NSString).deletingLastPathComponent
        }
    }
}

/// Makes finished blocks and packs durable and visible, many in one pass (a group commit).
///
/// Writes that finish while a pass runs share the next one: all their files are flushed at
/// once, in parallel, so the file system joins them into one journal commit; then every
/// rename; then each folder touched, once. Only the files of these writes are flushed, never
/// the whole file system. A name never reaches the disk before its bytes.
final class GroupSync: Sendable {
    private let batcher: Batcher<StagedWrite, Void>

    init(label: String) {
        batcher = Batcher(label: label) { writes in GroupSync.pass(writes) }
    }

    /// Flushes `staged`'s files, renames them into place and flushes their folder: the write
    /// is on disk when this returns. Closes the staged files, whatever the outcome; a failed
    /// write's temp files are the caller's to remove.
    func makeDurable(_ staged: StagedWrite) async throws {
        try await batcher.submit(staged)
    }

    private static let flushQueue = DispatchQueue(label: "dfs.block-flush", attributes: .concurrent)

    /// fsync(2) (or fdatasync) of every descriptor, several at once; the errno of each, 0
    /// for success.
    private static func flushAll(_ descriptors: [Int32], data: Bool) -> [Int32] {
        let results = Mutex([Int32](repeating: 0, count: descriptors.count))
        let group = DispatchGroup()
        let lanes = min(Limits.flushThreadsMax, descriptors.count)
        for lane in 0..<lanes {
            flushQueue.async(group: group) {
                for index in stride(from: lane, to: descriptors.count, by: lanes) {
                    var code: Int32 = 0
                    while (data ? fdatasync(descriptors[index]) : fsync(descriptors[index])) != 0 {
                        if errno == EINTR { continue }
                        code = errno
                        break
                    }
                    results.withLock { $0[index] = code }
                }
            }
        }
        group.wait()
        return results.withLock { $0 }
    }

    /// One pass: flush every file, close it, rename what flushed, flush each folder touched.
    private static func pass(_ writes: [StagedWrite]) -> [Result<Void, DFSError>] {
        func failure(_ write: StagedWrite, _ what: String, _ code: Int32) -> Result<Void, DFSError> {
            .failure(DFSError(.ioError, "cannot \(what) \(write.subject): \(String(cString: strerror(code)))"))
        }
        let files = writes.map(\.descriptors)
        let flushed = flushAll(files.flatMap { $0.map(\.fd) }, data: true)
        for file in files.joined() { close(file.fd) }
        var next = 0
        var results: [Result<Void, DFSError>] = zip(writes, files).map { write, files in
            let codes = flushed[next..<(next + files.count)]
            next += files.count
            if let (file, code) = zip(files, codes).first(where: { $0.1 != 0 }) { return failure(write, file.failure, code) }
            for rename in write.renames where Glibc.rename(rename.temp, rename.path) != 0 {
                return failure(write, rename.failure, errno)
            }
            return .success(())
        }
        var failedFolders: [String: Int32] = [:]
        var opened: [(folder: String, fd: Int32)] = []
        for folder in Set(writes.map(\.folder)) {
            let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                failedFolders[folder] = errno
            } else {
                opened.append((folder, fd))
            }
        }
        for (entry, code) in zip(opened, flushAll(opened.map(\.fd), data: false)) {
            close(entry.fd)
            if code != 0 { failedFolders[entry.folder] = code }
        }
        for (index, write) in writes.enumerated() {
            if case .success = results[index], let code = failedFolders[write.folder] {
                results[index] = failure(write, "sync the folder of", code)
            }
        }
        return results
    }
}

/// fsync(2) of a folder, so the names in it reach the disk; best effort.
func syncFolder(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}
