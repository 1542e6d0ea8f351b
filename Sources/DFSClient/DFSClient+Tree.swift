import DFSCore
import DFSNet
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a tree copy did.
public struct TreeCopyResult: Sendable, Equatable {
    /// Files copied.
    public var files = 0
    /// Files left alone because the target had them and overwriting was off.
    public var skipped = 0
    /// Bytes of the copied files.
    public var bytes = 0
    public init() {}
}

/// Hooks a tree copy calls: once with the plan, then per file as each is done.
public struct TreeCopyEvents: Sendable {
    /// Files and bytes about to be copied, before the first byte moves.
    public var planned: @Sendable (_ files: Int, _ bytes: Int) -> Void = { _, _ in }
    /// A file is copied: its source and target, as text.
    public var copied: @Sendable (_ source: String, _ target: String) -> Void = { _, _ in }
    public init() {}
}

extension DFSClient {
    /// Files of a tree copied at once, counted in weights: a file of one block weighs 1, a
    /// larger one (with up to ``Limits/blocksInFlight`` blocks in flight of its own) weighs 4,
    /// a batch of small files (an upload's) weighs 4. So 32 small downloads go at once, enough
    /// to fill the servers' group commits, 8 batches of uploads, but only 8 large files,
    /// which keeps memory where it was.
    public static let filesInFlight = 32
    static let largeFileWeight = 4
    /// A batch of small files weighs 4: eight batches (up to 512 files, 32 MiB) in flight.
    static let batchWeight = 4

    /// Copies a local folder tree to `target` (created with its parents), keeping its shape:
    /// several files at once, empty folders too. With `options.overwrite` false, files the
    /// cluster already has are skipped. Symbolic links and other special files are skipped.
    @discardableResult
    public func uploadTree(
        localFolder: String, to target: DFSPath, options: UploadOptions, events: TreeCopyEvents = TreeCopyEvents()
    ) async throws -> TreeCopyResult {
        let root = URL(fileURLWithPath: localFolder).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw DFSError(.notADirectory, "\(localFolder) is not a folder")
        }
        let rootPath = root.path
        let tree = try await BlockingIO.run { try Self.localTree(rootPath) }
        try await makeDirectory(target)
        var files: [TreeFile] = []
        for entry in tree {
            var remote = target
            for name in entry.relative { remote = try remote.appending(name) }
            if entry.isFolder {
                try await makeDirectory(remote)
            } else {
                files.append(TreeFile(local: rootPath + "/" + entry.relative.joined(separator: "/"), remote: remote, size: entry.size))
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
            let copied = isBatch
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
        return Self.result(copied, sizes: list.map(\.size))
    }

    /// Copies the folder tree at `source` into the local folder `localFolder` (created if
    /// needed), several files at once. With `overwrite` false, existing local files are kept.
    @discardableResult
    public func downloadTree(
        _ source: DFSPath, to localFolder: String, overwrite: Bool = true, verify: Bool = false,
        events: TreeCopyEvents = TreeCopyEvents()
    ) async throws -> TreeCopyResult {
        var files: [(remote: DFSPath, local: String, size: Int)] = []
        var skipped = 0
        var folders: [(DFSPath, URL)] = [(source, URL(fileURLWithPath: localFolder))]
        while let (remote, local) = folders.popLast() {
            try createLocalFolder(local)
            let info = try await listPages(remote) { page in
                for entry in page {
                    let child = local.appendingPathComponent(entry.path.name)
                    if entry.type == .dir {
                        folders.append((entry.path, child))
                    } else if overwrite || !FileManager.default.fileExists(atPath: child.path) {
                        files.append((entry.path, child.path, entry.size))
                    } else {
                        skipped += 1
                    }
                }
            }
            guard info.type == .dir else { throw DFSError(.notADirectory, "\(remote) is a file, not a folder") }
        }
        let list = files
        events.planned(list.count, Self.total(list.map(\.size)))
        let budget = InFlightBudget(capacity: Self.filesInFlight)
        let outcomes = try await forEach(count: list.count, inFlight: Self.filesInFlight) { index -> Bool in
            let file = list[index]
            let weight = file.size <= Limits.chunkBytes ? 1 : Self.largeFileWeight
            await budget.acquire(weight)
            defer { Task { await budget.release(weight) } }
            try await self.download(file.remote, to: file.local, verify: verify)
            events.copied(file.remote.string, file.local)
            return true
        }
        var result = Self.result(outcomes, sizes: list.map(\.size))
        result.skipped += skipped
        return result
    }

    /// The tree under `folder`, depth first, each folder before what it holds, names sorted:
    /// each entry's path relative to `folder`, whether it is a folder, and a file's size.
    /// Symbolic links and special files are left out. One readdir(3) per folder and one
    /// lstat(2) per entry (Foundation's enumerator with resource values cost about a third
    /// of a small-file tree copy's CPU).
    static func localTree(_ folder: String) throws -> [(relative: [String], isFolder: Bool, size: Int)] {
        var entries: [(relative: [String], isFolder: Bool, size: Int)] = []
        func visit(_ path: String, _ relative: [String]) throws {
            guard let handle = opendir(path) else {
                throw DFSError(.ioError, "cannot read folder \(path): \(String(cString: strerror(errno)).lowercased())")
            }
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(handle)
            for name in names.sorted() {
                let child = path + "/" + name
                var info = Glibc.stat()
                // Gone since the folder was read: nothing to copy.
                guard lstat(child, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    entries.append((relative + [name], true, 0))
                    try visit(child, relative + [name])
                case S_IFREG:
                    entries.append((relative + [name], false, Int(info.st_size)))
                default:
                    continue
                }
            }
        }
        try visit(folder, [])
        return entries
    }

    private func createLocalFolder(_ url: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw DFSError(.notADirectory, "\(url.path) is a file, not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw DFSError(.ioError, "cannot create folder \(url.path): \(error.localizedDescription)")
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
