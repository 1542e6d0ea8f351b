import DFSCore
import Foundation
import Testing

@testable import DFSData

/// Small blocks stored together in packs: written whole, read by offset, found again at
/// start, and freed with their last block.
@Suite struct PackStoreTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-packs-\(UUID().uuidString.prefix(8))").path
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: folder) }

    /// A batch of blocks with their bytes: sizes 1, 4096, 70,000 (two pieces) and 10 bytes.
    func batch(from first: UInt64) -> (blocks: [BatchBlock], payload: [UInt8], contents: [[UInt8]]) {
        let contents = [1, 4096, 70_000, 10].enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &+ Int(first)) }
        }
        let blocks = contents.enumerated().map { index, bytes in
            BatchBlock(blockID: BlockID(first + UInt64(index)), length: bytes.count, checksums: BlockData.checksums(of: bytes))
        }
        return (blocks, contents.flatMap { $0 }, contents)
    }

    func read(_ store: BlockStore, _ blockID: BlockID) throws -> [UInt8] {
        let source = try store.openForReading(blockID)
        defer { source.close() }
        return try DataServer.readRange(source.file, offset: source.offset, count: source.length)
    }

    func packNames() -> [String] {
        allPackFiles().filter { !$0.hasSuffix(".dead") }
    }

    func allPackFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/blocks/packs")) ?? []).sorted()
    }

    @Test func aBatchIsOnePackReadableByOffsetAndFoundAgainAtStart() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let (blocks, payload, contents) = batch(from: 100)
        let entries = try await store.storePack(blocks, payload: payload)
        #expect(entries.map(\.offset) == [0, 1, 4097, 74_097])
        #expect(packNames().count == 1)
        #expect(packNames().first?.hasPrefix("pack_0000000000000064_") == true)
        for (block, bytes) in zip(blocks, contents) {
            #expect(try read(store, block.blockID) == bytes)
            let checksums = try await store.checksums(of: block.blockID)
            #expect(checksums.pieceChecksums == block.checksums)
            #expect(checksums.blockLength == bytes.count)
        }
        #expect(store.blockCount == 4)
        #expect(store.usedBytes == payload.count)
        #expect(store.takeChanges(limit: 100).added.map(\.blockID) == blocks.map(\.blockID))

        let reopened = try BlockStore(folder: folder)
        #expect(reopened.blockCount == 4)
        for (block, bytes) in zip(blocks, contents) {
            #expect(try read(reopened, block.blockID) == bytes)
            #expect(reopened.summaries.first { $0.blockID == block.blockID }?.checksum == BlockData.combined(block.checksums, length: bytes.count))
        }
    }

    @Test func aBlockThatDoesNotMatchItsChecksumsFailsTheWholeBatch() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        var (blocks, payload, _) = batch(from: 200)
        blocks[2].checksums[1] ^= 0x10
        let error = await #expect(throws: DFSError.self) { try await store.storePack(blocks, payload: payload) }
        #expect(error?.code == .checksumMismatch)
        #expect(store.blockCount == 0)
        #expect(allPackFiles().isEmpty, "no pack and no temp file is left")
    }

    @Test func aPackGoesWithItsLastBlockAndDeletionsInsideOneLastAcrossRestarts() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let first = batch(from: 300)
        let second = batch(from: 400)
        _ = try await store.storePack(first.blocks, payload: first.payload)
        _ = try await store.storePack(second.blocks, payload: second.payload)
        #expect(packNames().count == 2)
        for block in first.blocks { store.delete(block.blockID) }
        #expect(packNames().count == 1, "the first pack went with its last block")
        store.delete(second.blocks[0].blockID)
        #expect(packNames().count == 1)
        #expect(throws: DFSError.self) { try store.openForReading(second.blocks[0].blockID) }
        #expect(try read(store, second.blocks[1].blockID) == second.contents[1])
        #expect(store.blockCount == 3)
        // A deletion inside a pack is kept in its list of dead blocks: after a restart the
        // block stays deleted.
        #expect(allPackFiles().contains { $0.hasSuffix(".dead") })
        let reopened = try BlockStore(folder: folder)
        #expect(reopened.blockCount == 3)
        #expect(reopened.length(of: second.blocks[0].blockID) == nil)
        for block in second.blocks.dropFirst() { reopened.delete(block.blockID) }
        #expect(allPackFiles().isEmpty, "the last delete took the pack and its list")
    }

    /// A pack whose deleted blocks hold half its bytes or more is rewritten with its live
    /// blocks only; they read back the same, before and after a restart.
    @Test func aHalfDeadPackIsCompactedIntoANewOne() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let (blocks, payload, contents) = batch(from: 700)
        _ = try await store.storePack(blocks, payload: payload)
        let before = packNames()
        store.delete(blocks[0].blockID)
        #expect(store.packsToCompact.isEmpty, "1 byte of 74,107 is dead: not worth a rewrite")
        store.delete(blocks[2].blockID)
        #expect(store.packsToCompact == before, "70,001 of 74,107 bytes are dead")
        await store.compactPacks()
        let after = packNames()
        #expect(after.count == 1 && after != before, "the old pack and its list of dead blocks are gone")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: folder + "/blocks/packs/" + after[0])[.size] as? Int)
        #expect(size < 4096 + 10 + 200, "only the live blocks' bytes and their footer are left")
        #expect(store.packsToCompact.isEmpty)
        for index in [1, 3] { #expect(try read(store, blocks[index].blockID) == contents[index]) }
        #expect(store.blockCount == 2)
        let reopened = try BlockStore(folder: folder)
        #expect(reopened.blockCount == 2)
        for index in [1, 3] { #expect(try read(reopened, blocks[index].blockID) == contents[index]) }
        #expect(reopened.length(of: blocks[2].blockID) == nil)
    }

    /// A compaction cut short after the new pack was in place but before the old one went:
    /// both are on disk, each block is found once, and nothing deleted comes back.
    @Test func bothPacksOfAnUnfinishedCompactionReadAsOne() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let (blocks, payload, contents) = batch(from: 800)
        _ = try await store.storePack(blocks, payload: payload)
        let packs = folder + "/blocks/packs/"
        let old = try #require(packNames().first)
        try FileManager.default.copyItem(atPath: packs + old, toPath: packs + "keep")
        store.delete(blocks[2].blockID)
        await store.compactPacks()
        // Put the old pack back beside the new one, as a crash before its removal would.
        try FileManager.default.moveItem(atPath: packs + "keep", toPath: packs + old)
        try Data(bytesOf: blocks[2].blockID).write(to: URL(fileURLWithPath: packs + old + ".dead"))
        let reopened = try BlockStore(folder: folder)
        #expect(reopened.blockCount == 3)
        for index in [0, 1, 3] { #expect(try read(reopened, blocks[index].blockID) == contents[index]) }
        #expect(reopened.length(of: blocks[2].blockID) == nil)
    }

    @Test func unfinishedAndDamagedPacksAreHandledAtStart() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let (blocks, payload, contents) = batch(from: 500)
        _ = try await store.storePack(blocks, payload: payload)
        let other = batch(from: 600)
        _ = try await store.storePack(other.blocks, payload: other.payload)
        let packs = folder + "/blocks/packs/"
        // A pack being written when the node stopped.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: packs + "tmp-pack_00000000000000ff_00000000"))
        // A flipped byte in the second pack's footer.
        let damaged = try #require(packNames().first { $0.hasPrefix("pack_0000000000000258_") })
        let handle = try #require(FileHandle(forUpdatingAtPath: packs + damaged))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size - 20)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: size - 20)
        try handle.write(contentsOf: Data([byte ^ 1]))
        try handle.close()

        let reopened = try BlockStore(folder: folder)
        #expect(reopened.blockCount == 4, "the damaged pack's blocks are missing, the good pack's are there")
        for (block, bytes) in zip(blocks, contents) { #expect(try read(reopened, block.blockID) == bytes) }
        let names = allPackFiles()
        #expect(!names.contains { $0.hasPrefix("tmp-") })
        #expect(names.contains("bad-" + damaged))
    }

    @Test func aPackFooterRoundTripsAndRejectsEveryTruncation() async throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let entries = [
            PackFile.Entry(blockID: BlockID(7), offset: 0, length: 5, checksum: 9, pieceChecksums: [9]),
            PackFile.Entry(blockID: BlockID(8), offset: 5, length: 70_000, checksum: 11, pieceChecksums: [1, 2]),
        ]
        let bytes = [UInt8](repeating: 0xAB, count: 70_005) + PackFile.footer(entries)
        let path = folder + "/pack"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        #expect(try PackFile.entries(of: fd, size: bytes.count) == entries)
        for cut in [0, 1, 11, 12, 40, bytes.count - 1] {
            #expect(throws: DFSError.self, "\(cut) bytes") { try PackFile.entries(of: fd, size: cut) }
        }
    }

    /// A block is never written over: a second writer of a stored block, packed or not, or of
    /// a block still being written, is refused, and the stored bytes stay as they were.
    @Test func writerOfABlockAlreadyStoredOrBeingWrittenIsRefused() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let (blocks, payload, contents) = batch(from: 300)
        _ = try await store.storePack(blocks, payload: payload)
        let packed = await #expect(throws: DFSError.self) { _ = try await store.makeWriter(for: blocks[0].blockID, length: 3) }
        #expect(packed?.code == .alreadyExists)
        #expect(try read(store, blocks[0].blockID) == contents[0])

        let bytes: [UInt8] = [1, 2, 3]
        let first = try await store.makeWriter(for: BlockID(900), length: 3)
        let during = await #expect(throws: DFSError.self) { _ = try await store.makeWriter(for: BlockID(900), length: 3) }
        #expect(during?.code == .alreadyExists)
        #expect(throws: DFSError(.alreadyExists, "block 900 is already on node \(store.nodeID)")) { try store.claim([BlockID(901), BlockID(900)]) }
        try first.append(bytes, checksums: BlockData(checksums: BlockData.checksums(of: bytes)))
        try await first.commit()
        let after = await #expect(throws: DFSError.self) { _ = try await store.makeWriter(for: BlockID(900), length: 3) }
        #expect(after?.code == .alreadyExists)
        #expect(try read(store, BlockID(900)) == bytes)

        // A refused claim reserves nothing; a writer dropped unfinished gives its id back.
        try store.claim([BlockID(901)])
        store.release([BlockID(901)])
        do {
            let abandoned = try await store.makeWriter(for: BlockID(902), length: 3)
            abandoned.abort()
        }
        let again = try await store.makeWriter(for: BlockID(902), length: 3)
        again.abort()
    }
}

extension Data {
    /// A block id as a list of dead blocks stores it: 8 bytes, big-endian.
    init(bytesOf blockID: BlockID) {
        self.init(Swift.withUnsafeBytes(of: blockID.rawValue.bigEndian) { Array($0) })
    }
}
