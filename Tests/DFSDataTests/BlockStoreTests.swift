import DFSCore
import Foundation
import Testing

@testable import DFSData

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct BlockStoreTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-store-\(UUID().uuidString.prefix(8))").path
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: folder) }

    /// Appends a frame with correct checksums, as a client sends it.
    func append(_ bytes: [UInt8], to writer: BlockWriter) throws {
        try writer.append(bytes, checksums: BlockData(checksums: BlockData.checksums(of: bytes)))
    }

    @Test func committedBlockIsReadableAndSurvivesReopen() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let size = 65536 + 10_000
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = try await store.makeWriter(for: BlockID(42), length: bytes.count)
        try append(Array(bytes[0..<65536]), to: writer)
        try append(Array(bytes[65536...]), to: writer)
        try await writer.commit()
        #expect(store.length(of: BlockID(42)) == size)
        #expect(store.blockCount == 1)
        #expect(store.usedBytes == size)

        let reopened = try BlockStore(folder: folder)
        #expect(reopened.nodeID == store.nodeID)
        #expect(reopened.length(of: BlockID(42)) == size)
        let source = try reopened.openForReading(BlockID(42))
        defer { source.close() }
        #expect(source.length == size && source.offset == 0)
        #expect(try DataServer.readRange(source.file, offset: 0, count: source.length) == bytes)
        let checksums = try await reopened.checksums(of: BlockID(42))
        #expect(checksums.blockLength == size)
        #expect(checksums.blockChecksum == CRC32C.checksum(bytes))
        #expect(checksums.pieceChecksums == BlockData.checksums(of: bytes))
    }

    /// Pages of the file at `path` in the page cache, and its pages in all (mincore(2) of a
    /// mapping, which reads no page in).
    func cachedPages(_ path: String) throws -> (cached: Int, total: Int) {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        let length = Int(info.st_size)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, length) }
        var vector = [UInt8](repeating: 0, count: (length + page - 1) / page)
        try #require(mincore(mapping, length, &vector) == 0)
        return (vector.filter { $0 & 1 == 1 }.count, vector.count)
    }

    func writeBlock(_ store: BlockStore, _ blockID: BlockID, bytes: Int) async throws {
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let writer = try await store.makeWriter(for: blockID, length: data.count)
        for start in stride(from: 0, to: data.count, by: 1 << 20) {
            try append(Array(data[start..<min(start + (1 << 20), data.count)]), to: writer)
        }
        try await writer.commit()
    }

    /// Drop-behind: once a block is on the device its pages leave the page cache, unless the
    /// store was asked to keep them; either way the block reads back whole.
    @Test func writtenBlockLeavesThePageCacheUnlessAskedToStay() async throws {
        defer { cleanUp() }
        let dropping = try BlockStore(folder: folder + "/dropping")
        try await writeBlock(dropping, BlockID(1), bytes: 8 << 20)
        let dropped = try cachedPages(dropping.blockURL(BlockID(1)).path)
        #expect(dropped.total == (8 << 20) / Int(sysconf(Int32(_SC_PAGESIZE))))
        #expect(dropped.cached == 0)

        let keeping = try BlockStore(folder: folder + "/keeping", dropWrittenPages: false)
        try await writeBlock(keeping, BlockID(1), bytes: 8 << 20)
        let kept = try cachedPages(keeping.blockURL(BlockID(1)).path)
        #expect(kept.cached > kept.total / 2)

        let source = try dropping.openForReading(BlockID(1))
        defer { source.close() }
        #expect(try DataServer.readRange(source.file, offset: 0, count: source.length) == (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    }

    /// Frames that cross writeback windows (started early, see `Limits.writebackWindowBytes`)
    /// leave every byte where it belongs.
    @Test func blockSpanningSeveralWritebackWindowsIsStoredWhole() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let size = 2 * Limits.writebackWindowBytes + 5 * 65536 + 123
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        let bytes = [UInt8](try #require(try random.read(upToCount: size)))
        try #require(bytes.count == size)
        let writer = try await store.makeWriter(for: BlockID(43), length: size)
        var offset = 0
        while offset < size {
            let count = min(3 * 65536, size - offset)
            try append(Array(bytes[offset..<(offset + count)]), to: writer)
            offset += count
        }
        try await writer.commit()
        let source = try store.openForReading(BlockID(43))
        defer { source.close() }
        #expect(try DataServer.readRange(source.file, offset: 0, count: source.length) == bytes)
        #expect(try await store.checksums(of: BlockID(43)).blockChecksum == CRC32C.checksum(bytes))
    }

    @Test func blockFileIsNamedByIDInAShardFolder() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(0x1234), length: 1)
        try append([9], to: writer)
        try await writer.commit()
        #expect(FileManager.default.fileExists(atPath: folder + "/blocks/34/blk_0000000000001234"))
    }

    @Test func abortedWriteLeavesNoBlockAndNoTempFile() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(7), length: 65536 + 100)
        try append([UInt8](repeating: 1, count: 65536), to: writer)
        writer.abort()
        #expect(store.length(of: BlockID(7)) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/blocks/07").isEmpty, "the temp file is gone")
        #expect(throws: DFSError.self) { try store.openForReading(BlockID(7)) }
    }

    @Test func shortBlockCannotBeCommitted() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(8), length: 65536 + 100)
        try append([UInt8](repeating: 1, count: 65536), to: writer)
        let error = await #expect(throws: DFSError.self) { try await writer.commit() }
        #expect(error?.message.contains("65536 of 65636") == true)
        #expect(store.length(of: BlockID(8)) == nil)
    }

    @Test func dataLongerThanAnnouncedIsRejected() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(9), length: 10)
        #expect(throws: DFSError.self) {
            try append([UInt8](repeating: 1, count: 11), to: writer)
        }
        writer.abort()
    }

    /// Temp files of writes that never finished, in a shard folder and in the packs folder,
    /// are removed at start; the block and pack beside them stay.
    @Test func leftoverTempFilesAreRemovedAtStart() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(0x31), length: 3)
        try append([1, 2, 3], to: writer)
        try await writer.commit()
        let bytes = [UInt8]([4, 5])
        let batch = [BatchBlock(blockID: BlockID(0x32), length: 2, checksums: BlockData.checksums(of: bytes))]
        _ = try await store.storePack(batch, payload: bytes)
        let manager = FileManager.default
        #expect(manager.createFile(atPath: folder + "/blocks/31/tmp-blk_0000000000000131.123", contents: Data([1, 2, 3])))
        #expect(manager.createFile(atPath: folder + "/blocks/31/tmp-blk_0000000000000131.123.crc", contents: Data([1])))
        #expect(manager.createFile(atPath: folder + "/blocks/packs/tmp-pack_0000000000000033_00000001", contents: Data([1])))

        let reopened = try BlockStore(folder: folder)
        #expect(try manager.contentsOfDirectory(atPath: folder + "/blocks/31").sorted() == ["blk_0000000000000031", "blk_0000000000000031.crc"])
        let packs = try manager.contentsOfDirectory(atPath: folder + "/blocks/packs")
        #expect(packs.count == 1 && packs.allSatisfy { $0.hasPrefix("pack_0000000000000032_") }, "\(packs)")
        #expect(reopened.blockCount == 2)
    }

    /// Versions before the shard folders wrote blocks under `tmp/`: a start removes that
    /// folder with whatever is left in it, and no start makes it again.
    @Test func legacyTempFolderIsRemovedAtStartAndNotMadeAgain() async throws {
        defer { cleanUp() }
        _ = try BlockStore(folder: folder)
        #expect(!FileManager.default.fileExists(atPath: folder + "/tmp"))
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: folder + "/tmp/blk_0000000000000001.123", contents: Data([1, 2, 3])))
        _ = try BlockStore(folder: folder)
        #expect(!FileManager.default.fileExists(atPath: folder + "/tmp"))
    }

    @Test func deletedBlockIsGone() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(5), length: 3)
        try append([1, 2, 3], to: writer)
        try await writer.commit()
        store.delete(BlockID(5))
        #expect(store.length(of: BlockID(5)) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/blocks/05/blk_0000000000000005"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/blocks/05/blk_0000000000000005.crc"))
    }

    @Test func frameWithAWrongChecksumIsRejected() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(11), length: 100)
        var bytes = [UInt8](repeating: 3, count: 100)
        let checksums = BlockData(checksums: BlockData.checksums(of: bytes))
        bytes[40] ^= 0x01
        let error = #expect(throws: DFSError.self) { try writer.append(bytes, checksums: checksums) }
        #expect(error?.code == .checksumMismatch)
        #expect(writer.writtenBytes == 0)
        writer.abort()
    }

    @Test func frameThatIsNotWholePiecesIsRejectedUnlessLast() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(12), length: 200_000)
        let error = #expect(throws: DFSError.self) { try append([UInt8](repeating: 1, count: 1000), to: writer) }
        #expect(error?.code == .protocolError)
        writer.abort()
    }

    @Test func blockWithoutChecksumFileIsDroppedAtStart() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try await store.makeWriter(for: BlockID(13), length: 3)
        try append([1, 2, 3], to: writer)
        try await writer.commit()
        unlink(folder + "/blocks/0d/blk_000000000000000d.crc")
        let reopened = try BlockStore(folder: folder)
        #expect(reopened.length(of: BlockID(13)) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/blocks/0d/blk_000000000000000d"))
    }

    @Test func checksumFileRoundTripsAndRejectsDamage() async throws {
        let file = ChecksumFile(blockLength: 70_000, blockChecksum: 0xDEAD_BEEF, pieceChecksums: [1, 2])
        let bytes = file.encoded()
        #expect(try ChecksumFile(decoding: bytes) == file)
        #expect(throws: DFSError.self) { try ChecksumFile(decoding: Array(bytes.dropLast())) }
        var wrongCount = bytes
        wrongCount[23] = 3
        #expect(throws: DFSError.self) { try ChecksumFile(decoding: wrongCount) }
        #expect(throws: DFSError.self) { try ChecksumFile(decoding: Array("nonsense".utf8)) }
    }

    /// Blocks committed at the same time share the group sync; each is stored whole, under
    /// its own name, and survives a reopen. No temp file is left behind.
    @Test func concurrentCommitsAreAllDurableAndVisible() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let count = 64
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    let bytes = (0..<(100 + index)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
                    let writer = try await store.makeWriter(for: BlockID(UInt64(1000 + index)), length: bytes.count)
                    try self.append(bytes, to: writer)
                    try await writer.commit()
                }
            }
            try await group.waitForAll()
        }
        let reopened = try BlockStore(folder: folder)
        for index in 0..<count {
            let blockID = BlockID(UInt64(1000 + index))
            #expect(reopened.length(of: blockID) == 100 + index)
            let stored = try await reopened.checksums(of: blockID)
            let bytes = (0..<(100 + index)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
            var expected = CRC32C()
            expected.update(bytes)
            #expect(stored.blockChecksum == expected.value)
        }
        for shard in try FileManager.default.contentsOfDirectory(atPath: folder + "/blocks") {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/blocks/" + shard)
            #expect(!names.contains { $0.hasPrefix("tmp-") }, "temp files left in \(shard): \(names)")
        }
    }

    /// A write that never finished (its temp files in the shard folder) is gone at start;
    /// stored blocks beside it stay.
    @Test func unfinishedWriteInAShardFolderIsRemovedAtStart() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let done = try await store.makeWriter(for: BlockID(0x21), length: 3)
        try append([1, 2, 3], to: done)
        try await done.commit()
        let unfinished = try await store.makeWriter(for: BlockID(0x121), length: 3)
        try append([4, 5, 6], to: unfinished)
        // The process dies here: the temp file stays.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/blocks/21").contains { $0.hasPrefix("tmp-") })
        let reopened = try BlockStore(folder: folder)
        #expect(reopened.length(of: BlockID(0x21)) == 3)
        #expect(reopened.length(of: BlockID(0x121)) == nil)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/blocks/21").sorted()
        #expect(names == ["blk_0000000000000021", "blk_0000000000000021.crc"])
        unfinished.abort()
    }

    /// The node id is written in the node's own folder and nowhere else.
    @Test func nodeIDIsWrittenInPlaceWithNoTempFileLeft() async throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["blocks", "node-id"])
        let text = try String(contentsOfFile: folder + "/node-id", encoding: .utf8)
        #expect(text == store.nodeID.rawValue + "\n")
        #expect(try BlockStore(folder: folder).nodeID == store.nodeID)
    }

    @Test func corruptNodeIDFileIsAClearError() async throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("not/an id\n".utf8).write(to: URL(fileURLWithPath: folder + "/node-id"))
        let error = #expect(throws: DFSError.self) { try BlockStore(folder: folder) }
        #expect(error?.message.contains("node-id") == true)
    }
}
