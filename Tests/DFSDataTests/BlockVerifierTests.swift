import DFSCore
import Foundation
import Testing

@testable import DFSData

/// A data node's re-verification of a block the meta server doubts, on a store in a temp folder.
@Suite struct BlockVerifierTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-verify-\(UUID().uuidString.prefix(8))").path

    func cleanUp() { try? FileManager.default.removeItem(atPath: folder) }

    func store(_ blockID: BlockID, _ bytes: [UInt8], in store: BlockStore) async throws {
        let writer = try await store.makeWriter(for: blockID, length: bytes.count)
        try writer.append(bytes, checksums: BlockData(checksums: BlockData.checksums(of: bytes)))
        try await writer.commit()
    }

    func blockPath(_ store: BlockStore, _ blockID: BlockID) -> String {
        store.root.appendingPathComponent("blocks").appendingPathComponent(String(format: "%02x", Int(blockID.rawValue & 0xff)))
            .appendingPathComponent(blockID.fileName).path
    }

    @Test func intactBlockIsReportedVerifiedWithWhatItHolds() async throws {
        defer { cleanUp() }
        let blocks = try BlockStore(folder: folder)
        let bytes = (0..<(3 * 65536 + 77)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try await store(BlockID(5), bytes, in: blocks)
        let outcome = try await BlockVerifier.check(BlockID(5), in: blocks)
        #expect(outcome == .intact(BlockSummary(blockID: BlockID(5), length: bytes.count, checksum: CRC32C.checksum(bytes))))
    }

    @Test func flippedByteIsDamageAndAMissingBlockIsAbsent() async throws {
        defer { cleanUp() }
        let blocks = try BlockStore(folder: folder)
        let bytes = [UInt8](repeating: 3, count: 200_000)
        try await store(BlockID(6), bytes, in: blocks)
        let handle = try #require(FileHandle(forUpdatingAtPath: blockPath(blocks, BlockID(6))))
        try handle.seek(toOffset: 150_000)
        try handle.write(contentsOf: Data([0xFF]))
        try handle.close()
        guard case .damaged = try await BlockVerifier.check(BlockID(6), in: blocks) else {
            Issue.record("a flipped byte was not found")
            return
        }
        #expect(try await BlockVerifier.check(BlockID(99), in: blocks) == .absent)
    }

    /// The queue reports each outcome for the next heartbeat: intact, damaged, gone.
    @Test func queuedBlocksAreAnsweredThroughThePendingChanges() async throws {
        defer { cleanUp() }
        let blocks = try BlockStore(folder: folder)
        try await store(BlockID(1), [1, 2, 3], in: blocks)
        try await store(BlockID(2), [4, 5, 6], in: blocks)
        try Data([9, 9, 9]).write(to: URL(fileURLWithPath: blockPath(blocks, BlockID(2))))
        _ = blocks.takeChanges(limit: 100)
        let verifier = BlockVerifier(store: blocks)
        verifier.enqueue([BlockID(1), BlockID(2), BlockID(3), BlockID(1)])
        let deadline = ContinuousClock.now + .seconds(10)
        while verifier.checkedBlocks.withLock({ $0 }) < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        await verifier.stop()
        let changes = blocks.takeChanges(limit: 100)
        #expect(changes.verified == [BlockSummary(blockID: BlockID(1), length: 3, checksum: CRC32C.checksum([1, 2, 3]))])
        #expect(changes.corrupt == [BlockID(2)])
        #expect(changes.deleted == [BlockID(3)])
        #expect(verifier.checkedBlocks.withLock { $0 } == 3, "a block queued twice is checked once")
    }
}
