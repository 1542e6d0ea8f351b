import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// Blocks on local disk, named by block id only: a larger block in a file of its own with its
/// checksum file beside it, the small blocks of a batch together in a pack.
///
/// Layout under the node's folder:
/// - `node-id`: the node's stable id, made on first start;
/// - `blocks/XY/blk_<16 hex digits>`: a block written alone (`writeBlock`), spread over 256
///   folders by the id's low byte so no folder grows huge, with `blk_<16 hex digits>.crc`
///   beside it holding the block's checksums (``ChecksumFile``);
/// - `blocks/XY/tmp-blk_…`: blocks being written, each in its shard folder. A block and its
///   checksum file are written there, flushed, renamed to their names, and the folder
///   flushed (for many blocks at once, see ``GroupSync``): a crash leaves temp files
///   (removed at the next start), never a block file that claims bytes it does not hold;
/// - `blocks/packs/pack_…`: the small blocks of a `writeBlocks` batch, together in one file
///   (``PackFile``, `BlockStore+Packs.swift`); `tmp-pack_…` there are packs being written.
///
/// Older versions wrote blocks under `tmp/`; a start removes that folder if it is there.
///
/// The parts: this file keeps the block index, the paths and the calls a request makes;
/// `BlockStore+Start.swift` the node id and the scan at start; `BlockStore+Packs.swift` the
/// packs and their compaction; ``GroupSync`` the flushes; ``ChangeLog`` what heartbeats tell.
///
/// No path is ever built from a peer's text: only from a `BlockID`'s number.
public final class BlockStore: Sendable {
    public let root: URL
    public let nodeID: NodeID
    /// Flushes finished blocks and packs, many in one pass.
    let groupSync: GroupSync
    /// Every block stored here, in a file of its own or in a pack.
    private let index = Mutex<[BlockID: BlockSummary]>([:])
    /// Blocks stored in packs, and how many live blocks each pack still holds.
    let packs = Mutex(PackIndex())
    /// Changes not yet told to the meta server; heartbeats carry them.
    let changes = Mutex(ChangeLog())
    /// Blocks being written now (by a `writeBlock` or a `writeBlocks`), so that a second
    /// write of the same id is refused while the first is under way, not only once it is done.
    private let writing = Mutex(Set<BlockID>())

    /// The name heartbeats have always used for the change log.
    public typealias PendingChanges = ChangeLog

    /// The node's metrics: the store counts the bytes it stores and the corrupt blocks found.
    public let metrics: NodeMetrics

    /// With `dropWrittenPages` (the default), a block file's pages leave the page cache as
    /// soon as the block is on the device (posix_fadvise DONTNEED, as HDFS's drop-behind):
    /// a stream of uploads then neither evicts what readers use nor makes the kernel find
    /// fresh memory for every page it writes. On the 2-core test machine an upload at R=3
    /// cost the three nodes 12.2-12.7 CPU-seconds per GiB with the pages kept and
    /// 5.2-5.6 s with them dropped, and took 1.9 times less time (PERFORMANCE.md). The
    /// price: a block read right after it is written comes from the device. Packs of small
    /// blocks keep their pages (they are read back soon, and are small).
    public init(folder: String, dropWrittenPages: Bool = true, metrics: NodeMetrics = NodeMetrics()) throws {
        self.metrics = metrics
        groupSync = GroupSync(label: "dfs.block-sync", dropBehind: dropWrittenPages, flushDurations: metrics.flushDurations)
        root = URL(fileURLWithPath: folder, isDirectory: true)
        try Self.prepareFolders(root: root, named: folder)
        nodeID = try BlockStore.loadOrCreateNodeID(root: root)
        let (found, packIndex) = scanPacks(after: scanBlockFiles())
        packs.withLock { $0 = packIndex }
        index.withLock { $0 = found }
    }

    // MARK: Paths

    /// Names of blocks (and their checksum files) still being written start with this.
    static let tempPrefix = "tmp-"

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

    /// Where a block's bytes are on disk: its file, or its pack and offset (for tests and tools).
    public func location(of blockID: BlockID) -> (path: String, offset: Int)? {
        guard length(of: blockID) != nil else { return nil }
        if let packed = packs.withLock({ $0.locations[blockID] }) {
            return (packsFolder.appendingPathComponent(packed.pack).path, packed.entry.offset)
        }
        return (blockURL(blockID).path, 0)
    }

    // MARK: The block index

    public var blockCount: Int { index.withLock { $0.count } }
    public var usedBytes: Int { index.withLock { $0.values.reduce(0) { $0 + $1.length } } }
    public var blockIDs: [BlockID] { index.withLock { Array($0.keys) } }
    /// Every block with its length and checksum: what a full block report carries.
    public var summaries: [BlockSummary] { index.withLock { $0.values.sorted { $0.blockID < $1.blockID } } }

    public func length(of blockID: BlockID) -> Int? {
        index.withLock { $0[blockID]?.length }
    }

    /// Free bytes on the file system that holds the folder (statvfs(3)).
    public var freeBytes: Int {
        (try? FileSystem.freeBytes(root.path)) ?? 0
    }

    /// A block's stored checksums: a packed block's from the index, another's read from its
    /// checksum file off the cooperative pool.
    public func checksums(of blockID: BlockID) async throws -> ChecksumFile {
        if let packed = packedChecksums(of: blockID) { return packed }
        return try await BlockingIO.run { try self.readChecksumFile(of: blockID) }
    }

    /// ``checksums(of:)`` on the calling thread, which may block: for the scan at start and
    /// for code already on a ``BlockingIO`` thread.
    func checksumsBlocking(of blockID: BlockID) throws -> ChecksumFile {
        if let packed = packedChecksums(of: blockID) { return packed }
        return try readChecksumFile(of: blockID)
    }

    private func packedChecksums(of blockID: BlockID) -> ChecksumFile? {
        guard let packed = packs.withLock({ $0.locations[blockID] }) else { return nil }
        return ChecksumFile(blockLength: packed.entry.length, blockChecksum: packed.entry.checksum, pieceChecksums: packed.entry.pieceChecksums)
    }

    private func readChecksumFile(of blockID: BlockID) throws -> ChecksumFile {
        guard let bytes = try? FileSystem.contents(of: checksumURL(blockID).path) else {
            throw DFSError(.checksumMismatch, "checksum file of block \(blockID) is missing")
        }
        return try ChecksumFile(decoding: bytes)
    }

    // MARK: Writing

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
    /// The folder and the temp file are made on a ``BlockingIO`` thread.
    public func makeWriter(for blockID: BlockID, length: Int) async throws -> BlockWriter {
        try claim([blockID])
        do {
            return try await BlockingIO.run { try self.openWriter(for: blockID, length: length) }
        } catch {
            release([blockID])
            throw error
        }
    }

    private func openWriter(for blockID: BlockID, length: Int) throws -> BlockWriter {
        let folder = shardFolder(blockID)
        let made: Bool
        do throws(SystemError) {
            made = try FileSystem.makeFolder(folder.path)
        } catch {
            throw DFSError(.ioError, "cannot create \(folder.path): \(error.reason)")
        }
        if made {
            // A new shard folder: its name in blocks/ must reach the disk too.
            syncFolder(folder.deletingLastPathComponent().path)
        }
        let temp = folder.appendingPathComponent("\(Self.tempPrefix)\(blockID.fileName).\(UInt32.random(in: 0...UInt32.max))")
        return try BlockWriter(store: self, blockID: blockID, expectedLength: length, tempURL: temp)
    }

    /// Writes a block's checksum file to a temp path and returns it still open; the group
    /// sync flushes, renames and closes it.
    func writeChecksumFile(_ checksums: ChecksumFile, for blockID: BlockID, to path: String) throws -> OpenFile {
        let file: OpenFile
        do throws(SystemError) {
            file = try OpenFile.createOrTruncate(path)
        } catch {
            throw DFSError(.ioError, "cannot create checksum file: \(error.reason)")
        }
        do throws(SystemError) {
            try file.writeAll(checksums.encoded())
        } catch {
            file.close()
            FileSystem.removeQuietly(path)
            throw DFSError(.ioError, "cannot write checksum file of block \(blockID): \(error.reason)")
        }
        return file
    }

    /// write(2) every byte, at most ``Limits/pageCacheWriteBytes`` per call; `what` names the
    /// file in the error.
    static func writeAll(_ file: OpenFile, _ bytes: [UInt8], what: String) throws {
        do throws(SystemError) {
            try file.writeAll(bytes, pieceBytes: Limits.pageCacheWriteBytes)
        } catch {
            throw DFSError(.ioError, "cannot write \(what): \(error.errno == .noSpace ? "disk full" : error.reason)")
        }
    }

    /// Makes a finished block durable and visible in a pass of the group sync; see
    /// ``GroupSync/makeDurable(_:)``.
    func makeDurable(_ block: StagedBlock) async throws {
        try await groupSync.makeDurable(.block(block))
    }

    /// Records a block that a writer has made durable.
    func didStore(_ blockID: BlockID, length: Int, checksum: UInt32) {
        let summary = BlockSummary(blockID: blockID, length: length, checksum: checksum)
        index.withLock { $0[blockID] = summary }
        changes.withLock { $0.recordAdded(summary) }
        metrics.wrote(length)
    }

    // MARK: Reading and deleting

    /// ``openForReading(_:)`` on a ``BlockingIO`` thread: opening a file may wait for the
    /// disk (a cold inode).
    public func open(_ blockID: BlockID) async throws -> BlockSource {
        try await BlockingIO.run { try self.openForReading(blockID) }
    }

    /// Opens a block for reading. The caller closes the returned descriptor. Blocking: from
    /// async code, call ``open(_:)``.
    public func openForReading(_ blockID: BlockID) throws -> BlockSource {
        guard length(of: blockID) != nil else {
            throw DFSError(.notFound, "block \(blockID) is not on this node")
        }
        // A packed block: its pack is opened under the lock, so a delete that removes the
        // pack cannot come between finding it and opening it.
        let packed = packs.withLock { index -> (Result<OpenFile, SystemError>, PackFile.Entry)? in
            guard let (pack, entry) = index.locations[blockID] else { return nil }
            return (Result { () throws(SystemError) in try OpenFile.openForReading(packsFolder.appendingPathComponent(pack).path) }, entry)
        }
        if let (opened, entry) = packed {
            guard case .success(let file) = opened else {
                throw DFSError(.ioError, "cannot open the pack of block \(blockID): \(opened.failure?.reason ?? "")")
            }
            return BlockSource(file: file, offset: entry.offset, length: entry.length)
        }
        do throws(SystemError) {
            let file = try OpenFile.openForReading(blockURL(blockID).path)
            let size = (try? file.status().size) ?? 0
            return BlockSource(file: file, offset: 0, length: size)
        } catch {
            throw DFSError(.ioError, "cannot open block \(blockID): \(error.reason)")
        }
    }

    /// Deletes a block; a block that is not there is already deleted. Unlinks files: call
    /// it on a ``BlockingIO`` thread, as the async ``delete(_:)`` of a list does.
    public func delete(_ blockID: BlockID) {
        _ = index.withLock { $0.removeValue(forKey: blockID) }
        if !deleteFromPack(blockID) {
            FileSystem.removeQuietly(blockURL(blockID).path)
            FileSystem.removeQuietly(checksumURL(blockID).path)
        }
        changes.withLock { $0.recordDeleted(blockID) }
    }

    /// Deletes blocks on a ``BlockingIO`` thread, off the cooperative pool.
    public func delete(_ blockIDs: [BlockID]) async throws {
        try await BlockingIO.run { for blockID in blockIDs { self.delete(blockID) } }
    }

    // MARK: Changes for the heartbeat (see ``ChangeLog``)

    /// Takes up to `limit` of each kind of change to tell the meta server.
    public func takeChanges(limit: Int) -> PendingChanges {
        changes.withLock { $0.take(limit: limit) }
    }

    /// Puts back changes a heartbeat could not deliver.
    public func restoreChanges(_ taken: PendingChanges) {
        changes.withLock { $0.restore(taken) }
    }

    /// Forgets changes that a full block report makes moot.
    public func clearAddedAndDeleted() {
        changes.withLock { $0.clearAddedAndDeleted() }
    }

    /// Records a block found corrupt, to be reported; reported once per block until deleted.
    public func reportCorrupt(_ blockID: BlockID) {
        let new = changes.withLock { $0.recordCorrupt(blockID) }
        if new { metrics.corruptFound.increment() }
    }

    /// Records a block re-verified intact, to be reported; the latest outcome for a block wins.
    public func reportVerified(_ summary: BlockSummary) {
        changes.withLock { $0.recordVerified(summary) }
    }

    /// Records that a block the meta server asked about is not here: reported as deleted, so
    /// the meta server forgets the replica.
    public func reportGone(_ blockID: BlockID) {
        guard length(of: blockID) == nil else { return }
        changes.withLock { $0.recordGone(blockID) }
    }
}

extension Result {
    /// The error, when this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
