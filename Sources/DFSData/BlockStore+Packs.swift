import DFSCore
import DFSNet
import DFSSystem
import Foundation

/// The pack store: the small blocks of a `writeBlocks` batch written together in one file
/// (``PackFile``), found again at start, read by offset, and compacted once half a pack's
/// bytes belong to deleted blocks.
extension BlockStore {
    /// Blocks stored in packs, and how many live blocks each pack still holds.
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

    var packsFolder: URL { root.appendingPathComponent("blocks").appendingPathComponent("packs") }

    /// Reads every pack's footer; run once at start. Blocks already in `found` (a compaction
    /// cut short before it removed the old pack) are dead weight here. Returns the blocks the
    /// packs hold and the index of them.
    func scanPacks(after found: [BlockID: BlockSummary]) -> (found: [BlockID: BlockSummary], index: PackIndex) {
        var found = found
        var packIndex = PackIndex()
        let packFolder = packsFolder.path
        for name in (try? FileSystem.contentsOfFolder(packFolder)) ?? [] {
            let path = packFolder + "/" + name
            if name.hasPrefix(Self.tempPrefix) {
                FileSystem.removeQuietly(path)
                continue
            }
            guard name.hasPrefix(PackFile.namePrefix), !name.hasSuffix(PackFile.deadSuffix) else { continue }
            let dead = PackFile.deadBlocks(at: path + PackFile.deadSuffix)
            guard let file = try? OpenFile.openForReading(path) else { continue }
            defer { file.close() }
            do {
                let entries = try PackFile.entries(of: file.fd, size: (try? file.status().size) ?? 0)
                var members = Set<BlockID>()
                // A block found twice (a compaction cut short before it removed the old
                // pack) is taken from the first pack read; the other copy is dead weight.
                for entry in entries where found[entry.blockID] == nil && !dead.contains(entry.blockID) {
                    found[entry.blockID] = BlockSummary(blockID: entry.blockID, length: entry.length, checksum: entry.checksum)
                    packIndex.locations[entry.blockID] = (name, entry)
                    members.insert(entry.blockID)
                }
                if members.isEmpty {
                    FileSystem.removeQuietly(path)
                    FileSystem.removeQuietly(path + PackFile.deadSuffix)
                } else {
                    packIndex.members[name] = members
                    packIndex.dataBytes[name] = entries.reduce(0) { $0 + $1.length }
                }
            } catch {
                // Renamed into place only when whole: damage came later. Kept aside for a
                // look; its blocks are missing here and the meta server copies them back.
                Log.warn("data", "\(path): \(error.message); set aside as bad-\(name)")
                try? FileSystem.rename(path, to: packFolder + "/bad-" + name)
            }
        }
        return (found, packIndex)
    }

    /// Writes the blocks of a batch into a temp pack, checking every piece against its
    /// checksum first, and returns it staged for the group sync with its entries.
    func writePack(_ blocks: [BatchBlock], payload: [UInt8]) throws -> (staged: StagedPack, name: String, entries: [PackFile.Entry]) {
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
                entries.append(
                    PackFile.Entry(
                        blockID: block.blockID, offset: offset, length: block.length,
                        checksum: BlockData.combined(actual, length: block.length), pieceChecksums: actual))
                offset += block.length
            }
        }
        let name = PackFile.namePrefix + (blocks.first?.blockID.fileName.dropFirst(4) ?? "") + "_" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        let temp = packsFolder.appendingPathComponent(Self.tempPrefix + name).path
        let file: OpenFile
        do throws(SystemError) {
            file = try OpenFile.createNew(temp)
        } catch {
            throw DFSError(.ioError, "cannot create a pack: \(error.reason)")
        }
        do {
            try Self.writeAll(file, payload, what: "a pack")
            try Self.writeAll(file, PackFile.footer(entries), what: "a pack")
        } catch {
            file.close()
            FileSystem.removeQuietly(temp)
            throw error
        }
        let staged = StagedPack(firstBlockID: blocks.first?.blockID, file: file, temp: temp, path: packsFolder.appendingPathComponent(name).path)
        return (staged, name, entries)
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
            try await groupSync.makeDurable(.pack(written.staged))
        } catch {
            let temp = written.staged.temp
            _ = try? await BlockingIO.run { FileSystem.removeQuietly(temp) }
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

    /// Removes a deleted block from its pack, if it is in one: the pack goes with its last
    /// block, else the block is listed in the pack's dead blocks. Returns whether it was.
    /// Unlinks or appends under the lock: called on a ``BlockingIO`` thread (see
    /// ``delete(_:)``).
    func deleteFromPack(_ blockID: BlockID) -> Bool {
        packs.withLock { index -> Bool in
            guard let (pack, _) = index.locations.removeValue(forKey: blockID) else { return false }
            index.members[pack]?.remove(blockID)
            let path = packsFolder.appendingPathComponent(pack).path
            if index.members[pack]?.isEmpty ?? true {
                index.members[pack] = nil
                index.dataBytes[pack] = nil
                FileSystem.removeQuietly(path)
                FileSystem.removeQuietly(path + PackFile.deadSuffix)
            } else {
                PackFile.noteDead(blockID, at: path + PackFile.deadSuffix)
            }
            return true
        }
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
            let file: OpenFile
            do throws(SystemError) {
                file = try OpenFile.openForReading(path)
            } catch {
                throw DFSError(.ioError, "cannot open \(pack): \(error.reason)")
            }
            defer { file.close() }
            var payload: [UInt8] = []
            for entry in entries { payload += try DataServer.readRange(file, offset: entry.offset, count: entry.length) }
            return (entries.map { BatchBlock(blockID: $0.blockID, length: $0.length, checksums: $0.pieceChecksums) }, payload)
        }
        let written = try await writeDurablePack(blocks, payload: payload)
        let newPath = packsFolder.appendingPathComponent(written.name).path
        // The switch unlinks and appends under the lock: on a blocking thread.
        try await BlockingIO.run { self.switchPacks(from: pack, at: path, to: written, at: newPath, payloadBytes: payload.count) }
    }

    /// Moves the blocks still live from `pack` to the new pack `written`, and removes the
    /// old pack (or the new one, when every block in it was deleted meanwhile).
    private func switchPacks(
        from pack: String, at path: String, to written: (name: String, entries: [PackFile.Entry]), at newPath: String, payloadBytes: Int
    ) {
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
                FileSystem.removeQuietly(newPath)
                FileSystem.removeQuietly(newPath + PackFile.deadSuffix)
            } else {
                index.members[written.name] = moved
                index.dataBytes[written.name] = payloadBytes
            }
            FileSystem.removeQuietly(path)
            FileSystem.removeQuietly(path + PackFile.deadSuffix)
        }
    }
}
