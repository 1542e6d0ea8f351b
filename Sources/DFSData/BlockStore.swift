import DFSCore
import DFSNet
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Blocks on local disk, one file per block, named by block id only.
///
/// Layout under the node's folder:
/// - `node-id`: the node's stable id, made on first start;
/// - `blocks/XY/blk_<16 hex digits>`: one file per block, spread over 256 folders by the id's
///   low byte so no folder grows huge, with `blk_<16 hex digits>.crc` beside it holding the
///   block's checksums (``ChecksumFile``);
/// - `blocks/XY/tmp-blk_…`: blocks being written, each in its shard folder. A block and its
///   checksum file are written there, flushed, renamed to their names, and the folder
///   flushed (for many blocks at once, see ``makeDurable(_:)``): a crash leaves temp files
///   (removed at the next start), never a block file that claims bytes it does not hold;
/// - `blocks/packs/pack_…`: the small blocks of a `writeBlocks` batch, together in one file
///   (``PackFile``); `tmp-pack_…` there are packs being written;
/// - `tmp/`: where older versions wrote blocks; emptied at start.
///
/// No path is ever built from a peer's text: only from a `BlockID`'s number.
public final class BlockStore: Sendable {
    public let root: URL
    public let nodeID: NodeID
    /// Flushes finished blocks and packs, many in one pass (see ``makeDurable(_:)``).
    private let syncer: Batcher<StagedBlock, Void>
    private let index = Mutex<[BlockID: BlockSummary]>([:])
    /// Blocks stored in packs, and how many live blocks each pack still holds.
    private let packs = Mutex(PackIndex())

    struct PackIndex: Sendable {
        var locations: [BlockID: (pack: String, entry: PackFile.Entry)] = [:]
        /// The live blocks of each pack.
        var members: [String: Set<BlockID>] = [:]
        /// The bytes of block data each pack holds, live or deleted.
        var dataBytes: [String: Int] = [:]

        func liveBytes(_ pack: String) -> Int {
            (members[pack] ?? []).reduce(0) { $0 + (locations[$1]?.entry.length ?? 0) }
        }
    }
    /// Changes not yet told to the meta server; heartbeats carry them.
    private let changes = Mutex(PendingChanges())
    /// Blocks being written now (by a `writeBlock` or a `writeBlocks`), so that a second
    /// write of the same id is refused while the first is under way, not only once it is done.
    private let writing = Mutex(Set<BlockID>())

    public struct PendingChanges: Sendable {
        public var added: [BlockSummary] = []
        public var deleted: [BlockID] = []
        public var corrupt: [BlockID] = []
        /// Blocks re-verified at the meta server's request, every piece intact.
        public var verified: [BlockSummary] = []
        public var isEmpty: Bool { added.isEmpty && deleted.isEmpty && corrupt.isEmpty && verified.isEmpty }
    }

    public init(folder: String) throws {
        root = URL(fileURLWithPath: folder, isDirectory: true)
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: root.appendingPathComponent("blocks"), withIntermediateDirectories: true)
            if !manager.fileExists(atPath: root.appendingPathComponent("blocks/packs").path) {
                try manager.createDirectory(at: root.appendingPathComponent("blocks/packs"), withIntermediateDirectories: true)
                syncFolder(root.appendingPathComponent("blocks").path)
            }
            let tmp = root.appendingPathComponent("tmp")
            // Temp files are writes that never finished; no one will finish them now.
            if manager.fileExists(atPath: tmp.path) { try manager.removeItem(at: tmp) }
            try manager.createDirectory(at: tmp, withIntermediateDirectories: true)
        } catch {
            throw DFSError(.ioError, "cannot use data folder \(folder): \(error.localizedDescription)")
        }
        nodeID = try BlockStore.loadOrCreateNodeID(root: root)
        syncer = Batcher(label: "dfs.block-sync") { blocks in BlockStore.makeDurable(blocks) }
        index.withLock { $0 = scan() }
    }

    private static func loadOrCreateNodeID(root: URL) throws -> NodeID {
        let file = root.appendingPathComponent("node-id")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let id = NodeID(text.trimmingCharacters(in: .whitespacesAndNewlines))
            guard id.isWellFormed else {
                throw DFSError(.ioError, "\(file.path) does not hold a node id; remove it to make a new one")
            }
            return id
        }
        let id = NodeID(UUID().uuidString.lowercased())
        // Written beside its final name, flushed, then renamed: the id must survive a crash,
        // and a half-written one must never be read.
        let temp = file.path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let bytes = Array((id.rawValue + "\n").utf8)
        let written = fd < 0 ? -1 : bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fd >= 0 && written == bytes.count && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        if fd >= 0 { close(fd) }
        guard synced, rename(temp, file.path) == 0 else {
            unlink(temp)
            throw DFSError(.ioError, "cannot write \(file.path): \(synced ? String(cString: strerror(errno)) : reason)")
        }
        syncFolder(root.path)
        return id
    }

    /// Finds every block file; run once at start. A block without its checksum file never
    /// finished being stored (the checksum file is renamed into place first) and is removed,
    /// as is a checksum file without its block.
    private func scan() -> [BlockID: BlockSummary] {
        var found: [BlockID: BlockSummary] = [:]
        let blocks = root.appendingPathComponent("blocks")
        let manager = FileManager.default
        for shard in (try? manager.contentsOfDirectory(atPath: blocks.path)) ?? [] where shard != "packs" {
            let folder = blocks.appendingPathComponent(shard)
            let names = Set((try? manager.contentsOfDirectory(atPath: folder.path)) ?? [])
            // Temp files are writes that never finished; no one will finish them now.
            for name in names where name.hasPrefix(Self.tempPrefix) {
                unlink(folder.appendingPathComponent(name).path)
            }
            for name in names where name.hasPrefix("blk_") {
                let file = folder.appendingPathComponent(name).path
                if name.hasSuffix(".crc") {
                    if !names.contains(String(name.dropLast(4))) { unlink(file) }
                    continue
                }
                guard let raw = UInt64(name.dropFirst(4), radix: 16) else { continue }
                guard names.contains(name + ".crc") else {
                    unlink(file)
                    continue
                }
                let blockID = BlockID(raw)
                let attributes = try? manager.attributesOfItem(atPath: file)
                let length = (attributes?[.size] as? Int) ?? 0
                // A damaged checksum file still lists the block, with a checksum that cannot
                // match: the meta server then marks the replica corrupt.
                let checksum = (try? checksums(of: blockID).blockChecksum) ?? 0
                found[blockID] = BlockSummary(blockID: blockID, length: length, checksum: checksum)
            }
        }
        var packIndex = PackIndex()
        let packFolder = packsFolder.path
        for name in (try? manager.contentsOfDirectory(atPath: packFolder)) ?? [] {
            let path = packFolder + "/" + name
            if name.hasPrefix(Self.tempPrefix) {
                unlink(path)
                continue
            }
            guard name.hasPrefix(PackFile.namePrefix), !name.hasSuffix(PackFile.deadSuffix) else { continue }
            let dead = PackFile.deadBlocks(at: path + PackFile.deadSuffix)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            fstat(fd, &info)
            do {
                let entries = try PackFile.entries(of: fd, size: Int(info.st_size))
                var members = Set<BlockID>()
                // A block found twice (a compaction cut short before it removed the old
                // pack) is taken from the first pack read; the other copy is dead weight.
                for entry in entries where found[entry.blockID] == nil && !dead.contains(entry.blockID) {
                    found[entry.blockID] = BlockSummary(blockID: entry.blockID, length: entry.length, checksum: entry.checksum)
                    packIndex.locations[entry.blockID] = (name, entry)
                    members.insert(entry.blockID)
                }
                if members.isEmpty {
                    unlink(path)
                    unlink(path + PackFile.deadSuffix)
                } else {
                    packIndex.members[name] = members
                    packIndex.dataBytes[name] = entries.reduce(0) { $0 + $1.length }
                }
            } catch {
                // Renamed into place only when whole: damage came later. Kept aside for a
                // look; its blocks are missing here and the meta server copies them back.
                Log.warn("data", "\(path): \(error.message); set aside as bad-\(name)")
                rename(path, packFolder + "/bad-" + name)
            }
        }
        packs.withLock { $0 = packIndex }
        return found
    }

    var packsFolder: URL { root.appendingPathComponent("blocks").appendingPathComponent("packs") }

    /// Writes the blocks of a batch into a temp pack, checking every piece against its
    /// checksum first, and returns it staged for the group sync with its entries.
    func writePack(_ blocks: [BatchBlock], payload: [UInt8]) throws -> (staged: StagedBlock, name: String, entries: [PackFile.Entry]) {
        var entries: [PackFile.Entry] = []
        var offset = 0
        try payload.withUnsafeBytes { raw in
            for block in blocks {
                guard block.length >= 1, block.length <= raw.count - offset else {
                    throw DFSError(.invalidArgument, "block \(block.blockID) of \(block.length) bytes does not fit in the batch's \(raw.count)-byte payload")
                }
                let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + block.length)])
                let actual = BlockData.checksums(of: bytes)
                guard actual == block.checksums else {
                    throw DFSError(.checksumMismatch, "block \(block.blockID) of a batch does not match its checksums")
                }
                entries.append(PackFile.Entry(
                    blockID: block.blockID, offset: offset, length: block.length,
                    checksum: BlockData.combined(actual, length: block.length), pieces: actual))
                offset += block.length
            }
        }
        let name = PackFile.namePrefix + (blocks.first?.blockID.fileName.dropFirst(4) ?? "") + "_" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        let temp = packsFolder.appendingPathComponent(Self.tempPrefix + name).path
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DFSError(.ioError, "cannot create a pack: \(String(cString: strerror(errno)))") }
        do {
            try Self.writeAll(fd, payload, what: "a pack")
            try Self.writeAll(fd, PackFile.footer(entries), what: "a pack")
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        let staged = StagedBlock(
            blockID: blocks.first?.blockID ?? BlockID(0), blockFD: fd, checksumFD: -1, blockTemp: temp, checksumTemp: "",
            blockPath: packsFolder.appendingPathComponent(name).path, checksumPath: "")
        return (staged, name, entries)
    }

    /// write(2) every byte, at most ``Limits/pageCacheWriteBytes`` per call; `what` names the
    /// file in the error.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], what: String) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let result = write(fd, raw.baseAddress! + done, min(raw.count - done, Limits.pageCacheWriteBytes))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw DFSError(.ioError, "cannot write \(what): \(errno == ENOSPC ? "disk full" : String(cString: strerror(errno)))")
                }
                done += result
            }
        }
    }

    /// Stores a batch of blocks as one pack: written, checked, flushed in a pass of the group
    /// sync, renamed into place, recorded. Returns the blocks as stored.
    func storePack(_ blocks: [BatchBlock], payload: [UInt8]) async throws -> [PackFile.Entry] {
        let (name, entries) = try await writeDurablePack(blocks, payload: payload)
        didStorePack(name, entries: entries)
        return entries
    }

    /// A new pack of these blocks, checked, flushed and renamed into place; not yet recorded.
    private func writeDurablePack(_ blocks: [BatchBlock], payload: [UInt8]) async throws -> (name: String, entries: [PackFile.Entry]) {
        let written = try await BlockingIO.run { try self.writePack(blocks, payload: payload) }
        do {
            try await makeDurable(written.staged)
        } catch {
            unlink(written.staged.blockTemp)
            throw error
        }
        return (written.name, written.entries)
    }

    /// Records the blocks of a pack that the group sync has made durable.
    func didStorePack(_ name: String, entries: [PackFile.Entry]) {
        packs.withLock { index in
            for entry in entries { index.locations[entry.blockID] = (name, entry) }
            index.members[name] = Set(entries.map(\.blockID))
            index.dataBytes[name] = entries.reduce(0) { $0 + $1.length }
        }
        for entry in entries { didStore(entry.blockID, length: entry.length, checksum: entry.checksum) }
    }

    /// Packs whose deleted blocks hold at least half their bytes.
    public var packsToCompact: [String] {
        packs.withLock { index in
            index.members.keys.filter { index.liveBytes($0) * 2 <= index.dataBytes[$0, default: 0] }.sorted()
        }
    }

    /// Rewrites every pack whose deleted blocks hold at least half its bytes, with its live
    /// blocks only, and removes the old one: the space of deleted packed blocks comes back.
    /// Packs are looked for again after each one, so deletions made meanwhile count too. A
    /// pack that cannot be rewritten (a block in it has rotted, the disk is full) stays, and
    /// is returned with those in `skipping`.
    @discardableResult
    public func compactPacks(skipping: Set<String> = []) async -> Set<String> {
        var failed = skipping
        while let pack = packsToCompact.first(where: { !failed.contains($0) }) {
            do {
                try await compact(pack)
            } catch {
                failed.insert(pack)
                Log.warn("data", "cannot compact \(pack): \(DFSError.wrap(error).message)")
            }
        }
        return failed
    }

    /// One pack's compaction: its live blocks are read, checked and written as a new pack
    /// (flushed and renamed like any); then, under the lock readers take, the blocks still
    /// live move to it and the old pack goes. A crash in between leaves both packs, and the
    /// first one read at start wins.
    private func compact(_ pack: String) async throws {
        let entries = packs.withLock { index in
            (index.members[pack] ?? []).compactMap { index.locations[$0]?.entry }.sorted { $0.offset < $1.offset }
        }
        guard !entries.isEmpty else { return }
        let path = packsFolder.appendingPathComponent(pack).path
        let (blocks, payload) = try await BlockingIO.run { () throws -> ([BatchBlock], [UInt8]) in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw DFSError(.ioError, "cannot open \(pack): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var payload: [UInt8] = []
            for entry in entries { payload += try DataServer.readChunk(fd: fd, offset: entry.offset, count: entry.length) }
            return (entries.map { BatchBlock(blockID: $0.blockID, length: $0.length, checksums: $0.pieces) }, payload)
        }
        let written = try await writeDurablePack(blocks, payload: payload)
        let newPath = packsFolder.appendingPathComponent(written.name).path
        packs.withLock { index in
            var moved = Set<BlockID>()
            for entry in written.entries {
                if index.members[pack]?.contains(entry.blockID) == true {
                    index.locations[entry.blockID] = (written.name, entry)
                    moved.insert(entry.blockID)
                } else {
                    // Deleted while the new pack was written.
                    PackFile.noteDead(entry.blockID, at: newPath + PackFile.deadSuffix)
                }
            }
            index.members[pack] = nil
            index.dataBytes[pack] = nil
            if moved.isEmpty {
                unlink(newPath)
                unlink(newPath + PackFile.deadSuffix)
            } else {
                index.members[written.name] = moved
                index.dataBytes[written.name] = payload.count
            }
            unlink(path)
            unlink(path + PackFile.deadSuffix)
        }
    }

    /// Where a block's bytes are on disk: its file, or its pack and offset (for tests and tools).
    public func location(of blockID: BlockID) -> (path: String, offset: Int)? {
        guard length(of: blockID) != nil else { return nil }
        if let packed = packs.withLock({ $0.locations[blockID] }) {
            return (packsFolder.appendingPathComponent(packed.pack).path, packed.entry.offset)
        }
        return (blockURL(blockID).path, 0)
    }

    func shardFolder(_ blockID: BlockID) -> URL {
        let shard = String(format: "%02x", Int(blockID.rawValue & 0xff))
        return root.appendingPathComponent("blocks").appendingPathComponent(shard)
    }

    func blockURL(_ blockID: BlockID) -> URL {
        shardFolder(blockID).appendingPathComponent(blockID.fileName)
    }

    func checksumURL(_ blockID: BlockID) -> URL {
        shardFolder(blockID).appendingPathComponent(blockID.fileName + ".crc")
    }

    /// Writes a block's checksum file to a temp path and returns it still open;
    /// ``makeDurable(_:)`` flushes, renames and closes it.
    func writeChecksumFile(_ checksums: ChecksumFile, for blockID: BlockID, to path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DFSError(.ioError, "cannot create checksum file: \(String(cString: strerror(errno)))") }
        let bytes = checksums.encoded()
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write"
            close(fd)
            unlink(path)
            throw DFSError(.ioError, "cannot write checksum file of block \(blockID): \(reason)")
        }
        return fd
    }

    /// Flushes a finished block and its checksum file, renames both into place and flushes
    /// their folder: the block is on disk when this returns. Closes the staged files.
    ///
    /// Blocks that finish while a flush runs share the next pass (a group commit): all their
    /// files are flushed at once, in parallel, so the file system joins them into one journal
    /// commit; then every rename; then each folder touched, once. Only the files of these
    /// blocks are flushed, never the whole file system. A block's name never reaches the
    /// disk before its bytes.
    func makeDurable(_ block: StagedBlock) async throws {
        try await syncer.submit(block)
    }

    private static let flushQueue = DispatchQueue(label: "dfs.block-flush", attributes: .concurrent)

    /// Threads one pass flushes with at most: enough for the file system to gather the
    /// flushes into one journal commit, few enough not to crowd out everything else.
    private static let flushThreadsMax = 8

    /// fsync(2) (or fdatasync) of every descriptor, several at once; the errno of each, 0
    /// for success (and for -1, which stands for "nothing to flush").
    private static func flushAll(_ descriptors: [Int32], data: Bool) -> [Int32] {
        let results = Mutex([Int32](repeating: 0, count: descriptors.count))
        let group = DispatchGroup()
        let lanes = min(flushThreadsMax, descriptors.count)
        for lane in 0..<lanes {
            flushQueue.async(group: group) {
                for index in stride(from: lane, to: descriptors.count, by: lanes) where descriptors[index] >= 0 {
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

    private static func makeDurable(_ blocks: [StagedBlock]) -> [Result<Void, DFSError>] {
        func failure(_ block: StagedBlock, _ what: String, _ code: Int32) -> Result<Void, DFSError> {
            .failure(DFSError(.ioError, "cannot \(what) block \(block.blockID): \(String(cString: strerror(code)))"))
        }
        // A pack has no checksum file (its checksums are inside): its slot flushes nothing.
        let flushed = flushAll(blocks.flatMap { [$0.blockFD, $0.checksumFD] }, data: true)
        for block in blocks {
            close(block.blockFD)
            if block.checksumFD >= 0 { close(block.checksumFD) }
        }
        var results: [Result<Void, DFSError>] = blocks.enumerated().map { index, block in
            if flushed[2 * index] != 0 { return failure(block, "sync", flushed[2 * index]) }
            if flushed[2 * index + 1] != 0 { return failure(block, "sync the checksum file of", flushed[2 * index + 1]) }
            // The checksum file first: a block file is only ever in place with its checksums.
            guard block.checksumFD < 0 || rename(block.checksumTemp, block.checksumPath) == 0 else {
                return failure(block, "store the checksum file of", errno)
            }
            guard rename(block.blockTemp, block.blockPath) == 0 else { return failure(block, "store", errno) }
            return .success(())
        }
        var failedFolders: [String: Int32] = [:]
        var opened: [(folder: String, fd: Int32)] = []
        for folder in Set(blocks.map { ($0.blockPath as NSString).deletingLastPathComponent }) {
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
        for (index, block) in blocks.enumerated() {
            if case .success = results[index], let code = failedFolders[(block.blockPath as NSString).deletingLastPathComponent] {
                results[index] = failure(block, "sync the folder of", code)
            }
        }
        return results
    }

    /// A block's stored checksums.
    public func checksums(of blockID: BlockID) throws -> ChecksumFile {
        if let packed = packs.withLock({ $0.locations[blockID] }) {
            return ChecksumFile(blockLength: packed.entry.length, blockChecksum: packed.entry.checksum, chunkChecksums: packed.entry.pieces)
        }
        guard let data = FileManager.default.contents(atPath: checksumURL(blockID).path) else {
            throw DFSError(.checksumMismatch, "checksum file of block \(blockID) is missing")
        }
        return try ChecksumFile(decoding: [UInt8](data))
    }

    public var blockCount: Int { index.withLock { $0.count } }
    public var usedBytes: Int { index.withLock { $0.values.reduce(0) { $0 + $1.length } } }
    public var blockIDs: [BlockID] { index.withLock { Array($0.keys) } }
    /// Every block with its length and checksum: what a full block report carries.
    public var summaries: [BlockSummary] { index.withLock { $0.values.sorted { $0.blockID < $1.blockID } } }

    /// Takes up to `limit` of each kind of change to tell the meta server.
    public func takeChanges(limit: Int) -> PendingChanges {
        changes.withLock { pending in
            let taken = PendingChanges(
                added: Array(pending.added.prefix(limit)), deleted: Array(pending.deleted.prefix(limit)),
                corrupt: Array(pending.corrupt.prefix(limit)), verified: Array(pending.verified.prefix(limit)))
            pending.added.removeFirst(taken.added.count)
            pending.deleted.removeFirst(taken.deleted.count)
            pending.corrupt.removeFirst(taken.corrupt.count)
            pending.verified.removeFirst(taken.verified.count)
            return taken
        }
    }

    /// Puts back changes a heartbeat could not deliver.
    public func restoreChanges(_ taken: PendingChanges) {
        changes.withLock { pending in
            pending.added = taken.added + pending.added
            pending.deleted = taken.deleted + pending.deleted
            pending.corrupt = taken.corrupt + pending.corrupt
            pending.verified = taken.verified + pending.verified
        }
    }

    /// Forgets changes that a full block report makes moot.
    public func clearAddedAndDeleted() {
        changes.withLock { pending in
            pending.added = []
            pending.deleted = []
        }
    }

    /// Records a block found corrupt, to be reported; reported once per block until deleted.
    public func reportCorrupt(_ blockID: BlockID) {
        changes.withLock { pending in
            pending.verified.removeAll { $0.blockID == blockID }
            if !pending.corrupt.contains(blockID) { pending.corrupt.append(blockID) }
        }
    }

    /// Records a block re-verified intact, to be reported; the latest outcome for a block wins.
    public func reportVerified(_ summary: BlockSummary) {
        changes.withLock { pending in
            pending.corrupt.removeAll { $0 == summary.blockID }
            pending.verified.removeAll { $0.blockID == summary.blockID }
            pending.verified.append(summary)
        }
    }

    /// Records that a block the meta server asked about is not here: reported as deleted, so
    /// the meta server forgets the replica.
    public func reportGone(_ blockID: BlockID) {
        guard length(of: blockID) == nil else { return }
        changes.withLock { pending in
            if !pending.deleted.contains(blockID) { pending.deleted.append(blockID) }
        }
    }

    /// Free bytes on the file system that holds the folder (statvfs(3)).
    public var freeBytes: Int {
        var stats = statvfs()
        guard statvfs(root.path, &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    public func length(of blockID: BlockID) -> Int? {
        index.withLock { $0[blockID]?.length }
    }

    /// Reserves block ids for a write: `alreadyExists` when one is stored here (as a file
    /// or in a pack) or being written. A block is never written over: the meta server gives
    /// every write a new id, and a second copy under an old one would replace good data, or
    /// stay shadowed by the pack that holds the first. ``release(_:)`` ends the reservation.
    public func claim(_ blockIDs: [BlockID]) throws(DFSError) {
        let taken = writing.withLock { writing -> BlockID? in
            if let taken = blockIDs.first(where: { writing.contains($0) || length(of: $0) != nil }) { return taken }
            writing.formUnion(blockIDs)
            return nil
        }
        if let taken {
            throw DFSError(.alreadyExists, "block \(taken) is already on node \(nodeID)")
        }
    }

    /// Ends a reservation made by ``claim(_:)``, once the blocks are recorded or given up.
    public func release(_ blockIDs: [BlockID]) {
        writing.withLock { $0.subtract(blockIDs) }
    }

    /// Starts writing a block into a temp file in its own shard folder: the final rename
    /// stays within one folder, and new files spread over the shards' folders instead of all
    /// being made in one (where the file system's search for a free inode grew slow). The
    /// block's id is claimed (see ``claim(_:)``) until the writer is committed or dropped.
    public func makeWriter(for blockID: BlockID, length: Int) throws -> BlockWriter {
        try claim([blockID])
        do {
            return try openWriter(for: blockID, length: length)
        } catch {
            release([blockID])
            throw error
        }
    }

    private func openWriter(for blockID: BlockID, length: Int) throws -> BlockWriter {
        let folder = shardFolder(blockID)
        if mkdir(folder.path, 0o755) != 0 {
            guard errno == EEXIST else {
                throw DFSError(.ioError, "cannot create \(folder.path): \(String(cString: strerror(errno)))")
            }
        } else {
            // A new shard folder: its name in blocks/ must reach the disk too.
            syncFolder(folder.deletingLastPathComponent().path)
        }
        let temp = folder.appendingPathComponent("\(Self.tempPrefix)\(blockID.fileName).\(UInt32.random(in: 0...UInt32.max))")
        return try BlockWriter(store: self, blockID: blockID, expectedLength: length, tempURL: temp)
    }

    /// Names of blocks (and their checksum files) still being written start with this.
    static let tempPrefix = "tmp-"

    /// Records a block that a writer has made durable.
    func didStore(_ blockID: BlockID, length: Int, checksum: UInt32) {
        let summary = BlockSummary(blockID: blockID, length: length, checksum: checksum)
        index.withLock { $0[blockID] = summary }
        changes.withLock { $0.added.append(summary) }
    }

    /// Opens a block for reading. The caller closes the returned descriptor.
    public func openForReading(_ blockID: BlockID) throws -> BlockSource {
        guard length(of: blockID) != nil else {
            throw DFSError(.notFound, "block \(blockID) is not on this node")
        }
        // A packed block: its pack is opened under the lock, so a delete that removes the
        // pack cannot come between finding it and opening it.
        let packed = packs.withLock { index -> (Int32, PackFile.Entry)? in
            guard let (pack, entry) = index.locations[blockID] else { return nil }
            return (open(packsFolder.appendingPathComponent(pack).path, O_RDONLY | O_CLOEXEC), entry)
        }
        if let (fd, entry) = packed {
            guard fd >= 0 else {
                throw DFSError(.ioError, "cannot open the pack of block \(blockID): \(String(cString: strerror(errno)))")
            }
            return BlockSource(fd: fd, offset: entry.offset, length: entry.length)
        }
        let fd = open(blockURL(blockID).path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DFSError(.ioError, "cannot open block \(blockID): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        fstat(fd, &info)
        return BlockSource(fd: fd, offset: 0, length: Int(info.st_size))
    }

    /// Deletes a block; a block that is not there is already deleted.
    public func delete(_ blockID: BlockID) {
        _ = index.withLock { $0.removeValue(forKey: blockID) }
        let emptied = packs.withLock { index -> String? in
            guard let (pack, _) = index.locations.removeValue(forKey: blockID) else { return nil }
            index.members[pack]?.remove(blockID)
            let path = packsFolder.appendingPathComponent(pack).path
            if index.members[pack]?.isEmpty ?? true {
                index.members[pack] = nil
                index.dataBytes[pack] = nil
                unlink(path)
                unlink(path + PackFile.deadSuffix)
            } else {
                PackFile.noteDead(blockID, at: path + PackFile.deadSuffix)
            }
            return pack
        }
        if emptied == nil {
            unlink(blockURL(blockID).path)
            unlink(checksumURL(blockID).path)
        }
        changes.withLock { pending in
            pending.added.removeAll { $0.blockID == blockID }
            pending.corrupt.removeAll { $0 == blockID }
            pending.verified.removeAll { $0.blockID == blockID }
            pending.deleted.append(blockID)
        }
    }
}

/// A finished block in temp files, waiting for the group sync to make it durable and visible.
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

/// fsync(2) of a folder, so the names in it reach the disk; best effort.
func syncFolder(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}
