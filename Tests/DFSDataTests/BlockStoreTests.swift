import DFSCore
import Foundation
import Testing

@testable import DFSData

@Suite struct BlockStoreTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-store-\(UUID().uuidString.prefix(8))").path
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: folder) }

    @Test func committedBlockIsReadableAndSurvivesReopen() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = try store.makeWriter(for: BlockID(42), length: bytes.count)
        try bytes.withUnsafeBytes { try writer.append(UnsafeRawBufferPointer(rebasing: $0[0..<4000])) }
        try bytes.withUnsafeBytes { try writer.append(UnsafeRawBufferPointer(rebasing: $0[4000...])) }
        try writer.commit()
        #expect(store.length(of: BlockID(42)) == 10_000)
        #expect(store.blockCount == 1)
        #expect(store.usedBytes == 10_000)

        let reopened = try BlockStore(folder: folder)
        #expect(reopened.nodeID == store.nodeID)
        #expect(reopened.length(of: BlockID(42)) == 10_000)
        let (fd, length) = try reopened.openForReading(BlockID(42))
        defer { close(fd) }
        #expect(length == 10_000)
        #expect(try DataServer.readChunk(fd: fd, offset: 0, count: length) == bytes)
    }

    @Test func blockFileIsNamedByIDInAShardFolder() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try store.makeWriter(for: BlockID(0x1234), length: 1)
        try [UInt8(9)].withUnsafeBytes { try writer.append($0) }
        try writer.commit()
        #expect(FileManager.default.fileExists(atPath: folder + "/blocks/34/blk_0000000000001234"))
    }

    @Test func abortedWriteLeavesNoBlockAndNoTempFile() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try store.makeWriter(for: BlockID(7), length: 100)
        try [UInt8](repeating: 1, count: 50).withUnsafeBytes { try writer.append($0) }
        writer.abort()
        #expect(store.length(of: BlockID(7)) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/tmp").isEmpty)
        #expect(throws: DFSError.self) { try store.openForReading(BlockID(7)) }
    }

    @Test func shortBlockCannotBeCommitted() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try store.makeWriter(for: BlockID(8), length: 100)
        try [UInt8](repeating: 1, count: 99).withUnsafeBytes { try writer.append($0) }
        let error = #expect(throws: DFSError.self) { try writer.commit() }
        #expect(error?.message.contains("99 of 100") == true)
        #expect(store.length(of: BlockID(8)) == nil)
    }

    @Test func dataLongerThanAnnouncedIsRejected() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try store.makeWriter(for: BlockID(9), length: 10)
        #expect(throws: DFSError.self) {
            try [UInt8](repeating: 1, count: 11).withUnsafeBytes { try writer.append($0) }
        }
        writer.abort()
    }

    @Test func leftoverTempFilesAreRemovedAtStart() throws {
        defer { cleanUp() }
        _ = try BlockStore(folder: folder)
        FileManager.default.createFile(atPath: folder + "/tmp/blk_0000000000000001.123", contents: Data([1, 2, 3]))
        _ = try BlockStore(folder: folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/tmp").isEmpty)
    }

    @Test func deletedBlockIsGone() throws {
        defer { cleanUp() }
        let store = try BlockStore(folder: folder)
        let writer = try store.makeWriter(for: BlockID(5), length: 3)
        try [UInt8](arrayLiteral: 1, 2, 3).withUnsafeBytes { try writer.append($0) }
        try writer.commit()
        store.delete(BlockID(5))
        #expect(store.length(of: BlockID(5)) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/blocks/05/blk_0000000000000005"))
    }

    @Test func corruptNodeIDFileIsAClearError() throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("not/an id\n".utf8).write(to: URL(fileURLWithPath: folder + "/node-id"))
        let error = #expect(throws: DFSError.self) { try BlockStore(folder: folder) }
        #expect(error?.message.contains("node-id") == true)
    }
}
