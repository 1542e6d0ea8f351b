import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// What a tree copy did.
public struct TreeCopyResult: Sendable, Equatable {
    /// Files copied.
    public var files = 0
    /// Files left alone because the target had them and overwriting was off.
    public var skipped = 0
    /// Bytes of the copied files.
    public var bytes = 0
    /// Symbolic links copied as links (their targets kept as they are, never followed).
    public var links = 0
    /// FIFOs, sockets and devices left out (and links whose targets are not UTF-8): only
    /// files, folders and links are stored.
    public var specialSkipped = 0
    /// Local entries left out because the cluster cannot store their names (not UTF-8, a
    /// refused character, too long); a folder counts once for everything in it.
    public var namesRefused = 0
    public init() {}
}

/// A local entry that a tree upload leaves out, and why: named to the user, never skipped
/// silently.
public struct NotCopiedEntry: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// Not a file or a folder: `symbolic link`, `FIFO`, `socket`, `character device`,
        /// `block device`.
        case special(String)
        /// A name the cluster refuses, with why.
        case refusedName(String)
    }
    /// The local path as the user named the tree plus the entry's names, escaped for
    /// printing (see `DisplayText`): a name that is not UTF-8 shows its bytes as `\xNN`.
    public var path: String
    /// A refused folder is left out with everything in it.
    public var isFolder: Bool
    public var reason: Reason
    public init(path: String, isFolder: Bool, reason: Reason) {
        self.path = path
        self.isFolder = isFolder
        self.reason = reason
    }
}

/// Hooks a tree copy calls: once with the plan, then per file as each is done.
public struct TreeCopyEvents: Sendable {
    /// Files and bytes about to be copied, before the first byte moves.
    public var planned: @Sendable (_ files: Int, _ bytes: Int) -> Void = { _, _ in }
    /// A file is copied: its source and target, as text.
    public var copied: @Sendable (_ source: String, _ target: String) -> Void = { _, _ in }
    /// A local entry is left out (an upload's), told before the first byte moves.
    public var notCopied: @Sendable (NotCopiedEntry) -> Void = { _ in }
    public init() {}
}

extension DFSClient {
    /// Files of a tree copied at once, counted in weights: a file of one block weighs 1, a
    /// larger one (with up to ``Limits/blocksInFlight`` blocks in flight of its own) weighs 4,
    /// a batch of small files (an upload's or a download's) weighs 4. So 32 small files go
    /// one by one at once, enough to fill the servers' group commits, or 8 batches (at most
    /// 4 MiB each), but only 8 large files, which keeps memory where it was.
    public static let filesInFlight = 32
    static let largeFileWeight = 4
    /// A batch of small files weighs 4: eight batches in flight (up to 512 files and 32 MiB
    /// uploading, or 2,048 blocks and 32 MiB downloading).
    static let batchWeight = 4

    /// Copies a local folder tree to `target` (created with its parents), keeping its shape:
    /// several files at once, empty folders too. With `options.overwrite` false, files the
    /// cluster already has are skipped. Symbolic links are copied as links. Special files,
    /// and entries whose names the cluster cannot store, are left out, each told to
    /// `events.notCopied` and counted in the result.
    @discardableResult
    public func uploadTree(
        localFolder: String, to target: DFSPath, options: UploadOptions, events: TreeCopyEvents = TreeCopyEvents()
    ) async throws -> TreeCopyResult {
        let root = URL(fileURLWithPath: localFolder).standardizedFileURL
        let rootPath = root.path
        guard try await BlockingIO.run({ try? FileSystem.status(rootPath).kind }) == .folder else {
            throw DFSError(.notADirectory, "\(localFolder) is not a folder")
        }
        let tree = try await BlockingIO.run { try Self.localTree(rootPath) }
        try await makeDirectory(target)
        var files: [TreeFile] = []
        var specialSkipped = 0
        var namesRefused = 0
        var linksCopied = 0
        var linksSkipped = 0
        // The folder left out last: what it holds is left out with it, without a word each.
        var refusedFolder: [String]?
        for entry in tree {
            if let folder = refusedFolder, Self.names(entry.relative, areUnder: folder) { continue }
            refusedFolder = nil
            var remote = target
            switch entry.kind {
            case .special(let kind):
                specialSkipped += 1
                events.notCopied(NotCopiedEntry(path: Self.shownPath(localFolder, entry), isFolder: false, reason: .special(kind)))
                continue
            case .notUTF8(let isFolder):
                namesRefused += 1
                events.notCopied(
                    NotCopiedEntry(
                        path: Self.shownPath(localFolder, entry), isFolder: isFolder, reason: .refusedName("its name is not valid UTF-8")))
                continue
            case .folder, .file, .link:
                do {
                    for name in entry.relative { remote = try remote.appending(name) }
                    try remote.validateForCreation()
                } catch {
                    namesRefused += 1
                    events.notCopied(
                        NotCopiedEntry(
                            path: Self.shownPath(localFolder, entry), isFolder: entry.kind == .folder, reason: .refusedName(error.message)))
                    if entry.kind == .folder { refusedFolder = entry.relative }
                    continue
                }
            }
            switch entry.kind {
            case .file(let size):
                files.append(TreeFile(local: rootPath + "/" + entry.relative.joined(separator: "/"), remote: remote, size: size))
            case .link(let target):
                do {
                    try await makeLink(remote, target: target, overwrite: options.overwrite)
                    linksCopied += 1
                } catch let error as DFSError where error.code == .alreadyExists && !options.overwrite {
                    linksSkipped += 1
                }
            default:
                try await makeDirectory(remote)
            }
        }
        let list = files
        events.planned(list.count, Self.total(list.map(\.size)))
        // Small files travel in batches (three requests per batch); the others one by one.
        let (batches, singles) = Self.batches(of: list, blockBytes: options.blockBytes)
        let units = batches + singles.map { [$0] }
        let budget = InFlightBudget(capacity: Self.filesInFlight)
        let outcomes = try await forEach(count: units.count, inFlight: Self.filesInFlight) { unit -> [Bool] in
            let indexes = units[unit]
            let isBatch = unit < batches.count
            let weight = isBatch ? Self.batchWeight : list[indexes[0]].size <= options.blockBytes ? 1 : Self.largeFileWeight
            await budget.acquire(weight)
            defer { Task { await budget.release(weight) } }
            let copied =
                isBatch
                ? try await self.uploadBatch(indexes.map { list[$0] }, options: options)
                : [try await self.uploadOne(list[indexes[0]], options: options)]
            for (index, done) in zip(indexes, copied) where done {
                events.copied(list[index].local, list[index].remote.string)
            }
            return copied
        }
        var copied = [Bool](repeating: false, count: list.count)
        for (indexes, results) in zip(units, outcomes) {
            for (index, done) in zip(indexes, results) { copied[index] = done }
        }
        var result = Self.result(copied, sizes: list.map(\.size))
        result.specialSkipped = specialSkipped
        result.namesRefused = namesRefused
        result.links = linksCopied
        result.skipped += linksSkipped
        return result
    }

    /// Copies the folder tree at `source` into the local folder `localFolder` (created if
    /// needed), several files at once. With `overwrite` false, existing local files are kept.
    ///
    /// The listing carries the block of each file of one block, so small files need no
    /// `getFile` each: they are read in `readBlocks` batches (``ReadBatchPlan``: each node
    /// serves many blocks in one reply), up to 8 batches in flight; empty files are written
    /// without a read; larger files go one by one, as ``download(_:to:verify:)`` reads them.
    @discardableResult
    public func downloadTree(
        _ source: DFSPath, to localFolder: String, overwrite: Bool = true, verify: Bool = false,
        events: TreeCopyEvents = TreeCopyEvents()
    ) async throws -> TreeCopyResult {
        var files: [TreeDownload] = []
        var skipped = 0
        var links = 0
        var folders: [(DFSPath, URL)] = [(source, URL(fileURLWithPath: localFolder))]
        while let (remote, local) = folders.popLast() {
            try await BlockingIO.run { try Self.createLocalFolder(local) }
            let info = try await listReplies(remote, withBlocks: true) { page in
                for (position, entry) in page.entries.enumerated() {
                    // With its kind given, the URL is made without a stat(2) of the path.
                    let child = local.appendingPathComponent(entry.path.name, isDirectory: entry.type == .dir)
                    if entry.type == .dir {
                        folders.append((entry.path, child))
                    } else if let target = entry.target {
                        if try await BlockingIO.run({ try Self.makeLocalLink(at: child.path, to: target, overwrite: overwrite) }) {
                            links += 1
                        } else {
                            skipped += 1
                        }
                    } else if overwrite || !FileSystem.exists(child.path) {
                        files.append(TreeDownload(remote: entry.path, local: child.path, info: entry, blocks: page.blocks?[position]))
                    } else {
                        skipped += 1
                    }
                }
            }
            guard info.type == .dir else { throw DFSError(.notADirectory, "\(remote) is a file, not a folder") }
        }
        let list = files
        events.planned(list.count, Self.total(list.map(\.info.size)))
        // Small files in batches by node, empty ones together; the others one by one.
        let small = list.indices.filter { list[$0].isSmall }
        let withBlock = small.filter { list[$0].info.size > 0 }
        let plan = ReadBatchPlan(withBlock.map { list[$0].blocks![0] }, avoided: avoidance.nodes)
        var units: [(node: NodeAddress?, files: [Int])] = plan.batches.map { batch in
            (node: batch.node, files: batch.blocks.map { withBlock[$0] })
        }
        let empty = small.filter { list[$0].info.size == 0 }
        for start in stride(from: 0, to: empty.count, by: Limits.blocksPerReadMax) {
            units.append((node: nil, files: Array(empty[start..<min(start + Limits.blocksPerReadMax, empty.count)])))
        }
        // Blocks no replica could take (none listed) go the usual way, with fresh locations.
        let singles = list.indices.filter { !list[$0].isSmall } + plan.unplaced.map { withBlock[$0] }
        units += singles.map { (node: NodeAddress?.none, files: [$0]) }
        let batchCount = units.count - singles.count
        let work = units
        let budget = InFlightBudget(capacity: Self.filesInFlight)
        let writer = InFlightBudget(capacity: 1)
        let outcomes = try await forEach(count: work.count, inFlight: Self.filesInFlight) { unit -> [Bool] in
            let (node, indexes) = work[unit]
            let isBatch = unit < batchCount
            let weight = isBatch ? Self.batchWeight : list[indexes[0]].info.size <= Limits.writeFrameBytes ? 1 : Self.largeFileWeight
            await budget.acquire(weight)
            defer { Task { await budget.release(weight) } }
            if isBatch {
                try await self.downloadSmallFiles(indexes.map { list[$0] }, from: node, verify: verify, writer: writer) { file in
                    events.copied(file.remote.string, file.local)
                }
            } else {
                let file = list[indexes[0]]
                try await self.download(file.remote, to: file.local, verify: verify)
                events.copied(file.remote.string, file.local)
            }
            return indexes.map { _ in true }
        }
        var copied = [Bool](repeating: false, count: list.count)
        for (unit, results) in zip(work, outcomes) {
            for (index, done) in zip(unit.files, results) { copied[index] = done }
        }
        var result = Self.result(copied, sizes: list.map(\.info.size))
        result.skipped += skipped
        result.links = links
        return result
    }

    /// One entry of a local tree.
    struct LocalEntry: Equatable {
        enum Kind: Equatable {
            case folder
            case file(size: Int)
            /// A symbolic link and what it points to.
            case link(target: String)
            /// Not a file, a folder or a link: what it is, in words.
            case special(String)
            /// A name that is not UTF-8; a folder's contents are not read.
            case notUTF8(isFolder: Bool)
        }
        /// Names from the tree's root to the entry. The last name of a `notUTF8` entry is
        /// its escaped form (`caf\xe9.txt`), which names nothing on disk.
        var relative: [String]
        var kind: Kind
    }

    /// The tree under `folder`, depth first, each folder before what it holds, names sorted
    /// by their bytes. Symbolic links and special files are listed as such, not followed, and
    /// so are names that are not UTF-8 (a folder's without what it holds). One readdir(3) per
    /// folder and one lstat(2) per entry (Foundation's enumerator with resource values cost
    /// about a third of a small-file tree copy's CPU).
    static func localTree(_ folder: String) throws -> [LocalEntry] {
        var entries: [LocalEntry] = []
        func visit(_ path: String, _ relative: [String]) throws {
            // Names as the file system holds them: bytes, which need not be UTF-8.
            let names: [[UInt8]]
            do throws(SystemError) {
                names = try FileSystem.namesInFolder(path)
            } catch {
                throw DFSError(.ioError, "cannot read folder \(DisplayText.escaped(path)): \(error.reason)")
            }
            for bytes in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                // Gone since the folder was read: nothing to copy.
                guard let info = try? FileSystem.linkStatus(Array(path.utf8) + [UInt8(ascii: "/")] + bytes) else { continue }
                let name = String(decoding: bytes, as: UTF8.self)
                // Decoding replaces a byte that is not UTF-8; the name is then not the one on disk.
                guard name.utf8.elementsEqual(bytes) else {
                    entries.append(LocalEntry(relative: relative + [DisplayText.escaped(bytes: bytes)], kind: .notUTF8(isFolder: info.kind == .folder)))
                    continue
                }
                switch info.kind {
                case .folder:
                    entries.append(LocalEntry(relative: relative + [name], kind: .folder))
                    try visit(path + "/" + name, relative + [name])
                case .regular:
                    entries.append(LocalEntry(relative: relative + [name], kind: .file(size: info.size)))
                case .symbolicLink:
                    // Copied as a link; one whose target is not UTF-8 the cluster cannot keep.
                    let target = try? FileSystem.linkTarget(path + "/" + name)
                    if let target, let text = String(validating: target, as: UTF8.self), !text.isEmpty {
                        entries.append(LocalEntry(relative: relative + [name], kind: .link(target: text)))
                    } else {
                        entries.append(LocalEntry(relative: relative + [name], kind: .special("symbolic link whose target is not UTF-8")))
                    }
                case .fifo: entries.append(LocalEntry(relative: relative + [name], kind: .special("FIFO")))
                case .socket: entries.append(LocalEntry(relative: relative + [name], kind: .special("socket")))
                case .characterDevice: entries.append(LocalEntry(relative: relative + [name], kind: .special("character device")))
                case .blockDevice: entries.append(LocalEntry(relative: relative + [name], kind: .special("block device")))
                case .other: entries.append(LocalEntry(relative: relative + [name], kind: .special("special file")))
                }
            }
        }
        try visit(folder, [])
        return entries
    }

    /// True when `names` lies under the folder `folder`, names compared by their bytes.
    static func names(_ names: [String], areUnder folder: [String]) -> Bool {
        names.count > folder.count && zip(names, folder).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    /// An entry's local path for messages: the tree as the user named it, then its names,
    /// escaped (a `notUTF8` entry's last name is escaped already).
    static func shownPath(_ localFolder: String, _ entry: LocalEntry) -> String {
        var folder = localFolder
        while folder.utf8.count > 1 && folder.utf8.last == UInt8(ascii: "/") { folder = String(decoding: folder.utf8.dropLast(), as: UTF8.self) }
        var names = entry.relative.map(DisplayText.escaped)
        if case .notUTF8 = entry.kind, let last = entry.relative.last { names[names.count - 1] = last }
        let separator = folder.utf8.last == UInt8(ascii: "/") ? "" : "/"
        return DisplayText.escaped(folder) + separator + names.joined(separator: "/")
    }

    /// Makes a local symbolic link at `path` to `target`; what is at `path` is replaced with
    /// `overwrite` (never a folder), and kept without (false is returned).
    static func makeLocalLink(at path: String, to target: String, overwrite: Bool) throws -> Bool {
        if let status = try? FileSystem.linkStatus(Array(path.utf8)) {
            guard overwrite else { return false }
            guard status.kind != .folder else { throw DFSError(.isADirectory, "\(path) is a folder, not a link") }
            FileSystem.removeQuietly(path)
        }
        do throws(SystemError) {
            try FileSystem.makeSymbolicLink(at: path, to: target)
        } catch {
            throw DFSError(.ioError, "cannot make the link \(path): \(error.reason)")
        }
        return true
    }

    private static func createLocalFolder(_ url: URL) throws {
        if let status = try? FileSystem.statusIfPresent(url.path) {
            guard status.kind == .folder else { throw DFSError(.notADirectory, "\(url.path) is a file, not a folder") }
            return
        }
        do throws(SystemError) {
            try FileSystem.makeFolders(url.path)
        } catch {
            throw DFSError(.ioError, "cannot create folder \(url.path): \(error.reason)")
        }
    }

    /// The sum of sizes, at most `Int.max`: each size a server lists is at most
    /// ``Limits/fileBytesMax``, but a tree may list more of them than an `Int` can add up.
    static func total(_ sizes: [Int]) -> Int {
        sizes.reduce(0) { sum, size in
            let (added, overflow) = sum.addingReportingOverflow(size)
            return overflow ? .max : added
        }
    }

    private static func result(_ outcomes: [Bool], sizes: [Int]) -> TreeCopyResult {
        var result = TreeCopyResult()
        for (copied, size) in zip(outcomes, sizes) {
            if copied {
                result.files += 1
                result.bytes = total([result.bytes, size])
            } else {
                result.skipped += 1
            }
        }
        return result
    }
}

/// A counting semaphore with weights: tasks take units, waiting in arrival order until
/// there are enough, and give them back when done.
actor InFlightBudget {
    private var available: Int
    private var waiting: [(weight: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(capacity: Int) { available = capacity }

    /// Takers waiting for units.
    var waiterCount: Int { waiting.count }

    func acquire(_ weight: Int) async {
        if waiting.isEmpty && available >= weight {
            available -= weight
            return
        }
        await withCheckedContinuation { waiting.append((weight, $0)) }
    }

    func release(_ weight: Int) {
        available += weight
        while let first = waiting.first, available >= first.weight {
            available -= first.weight
            waiting.removeFirst()
            first.continuation.resume()
        }
    }
}
