import DFSCore
import DFSSystem
import Foundation
import Prometheus

/// A finished block in temp files: its data and its checksum file, both still open.
struct StagedBlock: Sendable {
    let blockID: BlockID
    /// The two temp files, open; the group sync closes them.
    let blockFile: OpenFile
    let checksumFile: OpenFile
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
    /// The temp file, open; the group sync closes it.
    let file: OpenFile
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
    var files: [(file: OpenFile, failure: String)] {
        switch self {
        case .block(let block): return [(block.blockFile, "sync"), (block.checksumFile, "sync the checksum file of")]
        case .pack(let pack): return [(pack.file, "sync")]
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
    private let flushDurations: DurationHistogram?

    /// With `dropBehind`, a block file's pages leave the page cache once it is flushed. Each
    /// write's wait (hand-over to durable) goes into `flushDurations`.
    init(label: String, dropBehind: Bool, flushDurations: DurationHistogram? = nil) {
        batcher = Batcher(label: label) { writes in GroupSync.pass(writes, dropBehind: dropBehind) }
        self.flushDurations = flushDurations
    }

    /// Flushes `staged`'s files, renames them into place and flushes their folder: the write
    /// is on disk when this returns. Closes the staged files, whatever the outcome; a failed
    /// write's temp files are the caller's to remove.
    func makeDurable(_ staged: StagedWrite) async throws {
        let started = ContinuousClock.now
        try await batcher.submit(staged)
        flushDurations?.record(ContinuousClock.now - started)
    }

    private static let flushQueue = DispatchQueue(label: "dfs.block-flush", attributes: .concurrent)

    /// fdatasync(2) (or fsync, for folders) of every file, several at once; nil for each
    /// that flushed, else its error. The waits run on these threads, never on the
    /// cooperative pool: a pass runs on the batcher's queue.
    private static func flushAll(_ files: [OpenFile], data: Bool) -> [SystemError?] {
        let results = Mutex([SystemError?](repeating: nil, count: files.count))
        let group = DispatchGroup()
        let lanes = min(Limits.flushThreadsMax, files.count)
        for lane in 0..<lanes {
            flushQueue.async(group: group) {
                for index in stride(from: lane, to: files.count, by: lanes) {
                    do throws(SystemError) {
                        try data ? files[index].syncData() : files[index].sync()
                    } catch {
                        results.withLock { $0[index] = error }
                    }
                }
            }
        }
        group.wait()
        return results.withLock { $0 }
    }

    /// One pass: flush every file, close it, rename what flushed, flush each folder touched.
    private static func pass(_ writes: [StagedWrite], dropBehind: Bool) -> [Result<Void, DFSError>] {
        func failure(_ write: StagedWrite, _ what: String, _ error: SystemError) -> Result<Void, DFSError> {
            .failure(DFSError(.ioError, "cannot \(what) \(write.subject): \(error.reason)"))
        }
        let files = writes.map(\.files)
        let flushed = flushAll(files.flatMap { $0.map(\.file) }, data: true)
        // Drop-behind: a block's bytes are on the device now, and a stream of writes would
        // otherwise fill the page cache with pages nobody reads soon (see BlockStore).
        if dropBehind {
            for (write, entries) in zip(writes, files) {
                if case .block = write, let first = entries.first { first.file.dropCachedPages() }
            }
        }
        for entry in files.joined() { entry.file.close() }
        var next = 0
        var results: [Result<Void, DFSError>] = zip(writes, files).map { write, files in
            let errors = flushed[next..<(next + files.count)]
            next += files.count
            if let (file, error) = zip(files, errors).first(where: { $0.1 != nil }) { return failure(write, file.failure, error!) }
            for rename in write.renames {
                do throws(SystemError) {
                    try FileSystem.rename(rename.temp, to: rename.path)
                } catch {
                    return failure(write, rename.failure, error)
                }
            }
            return .success(())
        }
        var failedFolders: [String: SystemError] = [:]
        var opened: [OpenFile] = []
        for folder in Set(writes.map(\.folder)) {
            do throws(SystemError) {
                opened.append(try OpenFile.openFolder(folder))
            } catch {
                failedFolders[folder] = error
            }
        }
        for (folder, error) in zip(opened, flushAll(opened, data: false)) {
            folder.close()
            if let error { failedFolders[folder.path] = error }
        }
        for (index, write) in writes.enumerated() {
            if case .success = results[index], let error = failedFolders[write.folder] {
                results[index] = failure(write, "sync the folder of", error)
            }
        }
        return results
    }
}

/// fsync(2) of a folder, so the names in it reach the disk; best effort.
func syncFolder(_ path: String) {
    try? FileSystem.syncFolder(path)
}
