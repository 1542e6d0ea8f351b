import CFuse
import DFSCore
import DFSSystem
import Foundation

/// The local folder where files open for writing are staged, and the bytes they may take.
///
/// Files in the cluster are immutable once complete, so a write through the mount goes to a
/// local file first and the whole file is uploaded when it is closed or synced (with
/// write-back, a small file after its close returned). The folder
/// is the mount's own (made at start, removed at unmount); its staged bytes are bounded by
/// `--cache-size`: a write that would pass the bound fails with ENOSPC.
final class StagingArea: Sendable {
    let folder: String
    let capacityBytes: Int
    private let state = Mutex((usedBytes: 0, nextNumber: 0))
    /// Emptied staged files kept open for the next files written: a file system that
    /// creates and deletes a file per small file written (ext4 scans past recently deleted
    /// inodes on every create) spends more on that than on the bytes.
    private let idle = Mutex<[(path: String, file: OpenFile)]>([])
    static let idleFilesMax = 256

    init(folder: String, capacityBytes: Int) throws {
        self.folder = folder
        self.capacityBytes = capacityBytes
        do {
            try FileSystem.makeFolders(folder, permissions: [.ownerReadWriteExecute])
        } catch {
            throw DFSError(.ioError, "cannot make the staging folder \(folder): \(error.reason)")
        }
    }

    /// A fresh path in the folder for one staged file.
    func newPath() -> String {
        let number = state.withLock { state in
            state.nextNumber += 1
            return state.nextNumber
        }
        return folder + "/staged-\(number)"
    }

    /// An emptied staged file to reuse (open, without notes), if one is idle.
    func takeIdleFile() -> (path: String, file: OpenFile)? {
        idle.withLock { $0.popLast() }
    }

    /// Keeps an emptied staged file (size 0, its notes removed) for the next file written;
    /// false when enough are kept already (the caller removes it).
    func keepIdleFile(_ path: String, _ file: OpenFile) -> Bool {
        idle.withLock { files in
            guard files.count < Self.idleFilesMax else { return false }
            files.append((path, file))
            return true
        }
    }

    /// Takes `bytes` more of the budget, or throws ENOSPC when they do not fit.
    func reserve(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        try state.withLock { state in
            guard state.usedBytes + bytes <= capacityBytes else {
                throw MountError(
                    ENOSPC, "the staging cache holds \(state.usedBytes) bytes of files open for writing; --cache-size is \(capacityBytes)")
            }
            state.usedBytes += bytes
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        state.withLock { $0.usedBytes -= bytes }
    }

    var usedBytes: Int { state.withLock { $0.usedBytes } }

    /// A staged file's notes (the cluster path it is for; that a write-back close returned
    /// for it) are extended attributes of the file when its file system takes them: a call
    /// on the open file, where a note file of its own would cost a create and an unlink per
    /// staged file. Elsewhere (or for a note too long for the file system), they are files
    /// beside it, ``notePath(of:)`` and ``readyPath(of:)``.
    static let pathAttribute = "user.dfs.path"
    static let readyAttribute = "user.dfs.ready"

    /// Sets the note `name` on the open staged file `fd`; false when refused.
    static func setNote(_ name: String, _ bytes: [UInt8], on fd: Int32) -> Bool {
        bytes.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) } == 0
    }

    static func removeNote(_ name: String, on fd: Int32) {
        _ = fremovexattr(fd, name)
    }

    /// The note `name` of the staged file at `path`, nil when it has none.
    static func note(_ name: String, of path: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let count = buffer.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return Array(buffer.prefix(count))
    }

    /// The file beside a staged file that names the cluster path it is for, where notes
    /// cannot be attributes.
    static func notePath(of stagedPath: String) -> String { stagedPath + ".path" }

    /// The file beside a staged file that says it is complete (a write-back close returned,
    /// the upload had not ended): a mount started later uploads it if its bytes still match.
    static func readyPath(of stagedPath: String) -> String { stagedPath + ".ready" }

    /// What a ready note holds: the cluster path, and the size and CRC32C the staged bytes
    /// had when their close returned. Written without a sync (a sync per close would cost
    /// more than the whole upload of a small file); after a machine went down, bytes that
    /// no longer match their note are reported rather than uploaded.
    struct ReadyNote: Equatable {
        let path: String
        let size: Int
        let crc32c: UInt32

        static let header = "dfs-staged 1"

        /// `dfs-staged 1 SIZE CRC32C` on the first line, the path after it.
        var bytes: [UInt8] { Array("\(Self.header) \(size) \(crc32c)\n\(path)".utf8) }

        init(path: String, size: Int, crc32c: UInt32) {
            self.path = path
            self.size = size
            self.crc32c = crc32c
        }

        /// nil for a note that is not one (cut short, or not written at all).
        init?(_ bytes: [UInt8]) {
            let text = String(decoding: bytes, as: UTF8.self)
            guard let newline = text.firstIndex(of: "\n") else { return nil }
            let fields = text[..<newline].split(separator: " ")
            guard fields.count == 4, "\(fields[0]) \(fields[1])" == Self.header, let size = Int(fields[2]), let crc32c = UInt32(fields[3]) else {
                return nil
            }
            let path = String(text[text.index(after: newline)...])
            guard !path.isEmpty else { return nil }
            self.init(path: path, size: size, crc32c: crc32c)
        }

        /// True when `staged` (a staged file's bytes) are those the note was written for.
        func matches(_ staged: [UInt8]) -> Bool {
            staged.count == size && CRC32C.checksum(staged) == crc32c
        }
    }

    /// The prefix of every mount's staging folder, followed by its process id.
    static let folderPrefix = "dfs-mount-"

    /// A staging folder's name for the mount process `processID`.
    static func folderName(processID: pid_t) -> String {
        folderPrefix + "\(processID)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A file staged by a mount process that is gone (killed before it could upload).
    struct Leftover {
        let stagedPath: String
        /// The cluster path it was for, "?" when its note is missing.
        let clusterPath: String
        let bytes: Int
        /// True when a write-back close returned for it (see ``readyPath(of:)``) and its bytes
        /// still match the note: they are what the program wrote and closed, to be uploaded.
        /// Otherwise it may be half written (or lost with the machine) and is only reported.
        let ready: Bool
        /// True when a write-back close returned for it but its bytes no longer match the note
        /// (the machine went down before they reached the disk).
        let damaged: Bool
    }

    /// Files staged in `cacheFolder` by mount processes that are gone.
    static func leftovers(in cacheFolder: String) -> [Leftover] {
        var found: [Leftover] = []
        for name in (try? FileSystem.contentsOfFolder(cacheFolder)) ?? [] where name.hasPrefix(folderPrefix) {
            let digits = name.dropFirst(folderPrefix.count).prefix { $0.isNumber }
            guard let processID = pid_t(digits), kill(processID, 0) != 0, errno == ESRCH else { continue }
            let folder = cacheFolder + "/" + name
            for file in (try? FileSystem.contentsOfFolder(folder)) ?? [] where !file.hasSuffix(".path") && !file.hasSuffix(".ready") {
                let staged = folder + "/" + file
                let note = (Self.note(readyAttribute, of: staged) ?? (try? FileSystem.contents(of: readyPath(of: staged)))).flatMap(ReadyNote.init)
                let noted = (Self.note(pathAttribute, of: staged) ?? (try? FileSystem.contents(of: notePath(of: staged))))
                    .map { String(decoding: $0, as: UTF8.self) }
                let bytes = (try? FileSystem.status(staged).size) ?? 0
                if bytes == 0, note == nil, noted == nil {
                    // An idle file of the dead process, kept for reuse: nothing was in it.
                    removeLeftover(staged)
                    continue
                }
                // Small files only take write-back: reading one whole is cheap.
                let intact = note.map { note in note.size == bytes && (try? FileSystem.contents(of: staged)).map(note.matches) == true } ?? false
                found.append(
                    Leftover(stagedPath: staged, clusterPath: note?.path ?? noted ?? "?", bytes: bytes, ready: intact, damaged: note != nil && !intact))
            }
        }
        return found
    }

    /// Removes a leftover staged file and its notes, and its folder once empty.
    static func removeLeftover(_ stagedPath: String) {
        FileSystem.removeQuietly(stagedPath)
        FileSystem.removeQuietly(notePath(of: stagedPath))
        FileSystem.removeQuietly(readyPath(of: stagedPath))
        let folder = String(stagedPath[..<(stagedPath.lastIndex(of: "/") ?? stagedPath.endIndex)])
        if (try? FileSystem.contentsOfFolder(folder))?.isEmpty == true { try? FileSystem.removeTree(folder) }
    }

    /// Removes the folder and whatever is left in it, at unmount.
    func removeFolder() {
        let idleFiles = idle.withLock { files -> [OpenFile] in
            let open = files.map(\.file)
            files.removeAll()
            return open
        }
        for file in idleFiles { file.close() }
        try? FileSystem.removeTree(folder)
    }
}
