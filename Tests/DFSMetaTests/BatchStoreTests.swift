import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// Batches of small files in the store: one transaction per batch, each file failing alone.
@Suite struct BatchStoreTests {
    let node = NodeID("node-a")

    func newFiles(_ entries: [(String, Int)]) throws -> [NewFile] {
        try entries.map { NewFile(path: try DFSPath($0.0), size: $0.1) }
    }

    func names(_ store: MetaStore, _ path: String) async throws -> [String] {
        try await store.list(path: try DFSPath(path), after: nil, limit: 1000).entries.map(\.path.name)
    }

    @Test(arguments: StoreKind.allCases) func aBatchCreatesEveryFileWithABlockUnlessEmptyAndCompletesThem(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        let created = try await store.createFiles(
            try newFiles([("/d/a", 10), ("/d/b", 0), ("/d/c", 4096)]), replication: 1, blockBytes: 4096, overwrite: true, now: 5)
        let made = try created.map { try $0.get() }
        #expect(made[0].blockID != nil && made[1].blockID == nil && made[2].blockID != nil)
        #expect(Set(made.map(\.fileID)).count == 3)
        #expect(try await names(store, "/").isEmpty, "pending files are invisible")
        let completions = made.enumerated().map { index, file in
            let size = [10, 0, 4096][index]
            return CompleteFile(
                fileID: file.fileID, size: size, sha256: nil,
                blocks: file.blockID.map { [CommittedBlock(blockID: $0, blockIndex: 0, length: size, checksum: UInt32(index), nodes: [node])] } ?? [])
        }
        let completed = try await store.completeFiles(completions, now: 6)
        for result in completed { try result.get() }
        var sizes: [Int] = []
        for name in ["a", "b", "c"] { sizes.append(try await store.getFile(path: try DFSPath("/d/\(name)")).info.size) }
        #expect(sizes == [10, 0, 4096])
        #expect(try await names(store, "/d") == ["a", "b", "c"])
        let c = try await store.getFile(path: try DFSPath("/d/c"))
        #expect(c.blocks.map(\.checksum) == [2])
        #expect(c.blocks.first?.replicas.map(\.nodeID) == [node])
    }

    @Test(arguments: StoreKind.allCases) func aFileThatCannotBeCreatedFailsAloneAndLeavesNothing(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await store.makeDirectory(try DFSPath("/d/folder"), now: 1)
        let old = try await store.createFiles(try newFiles([("/d/old", 3)]), replication: 1, blockBytes: 4096, overwrite: true, now: 2)
        let oldFile = try old[0].get()
        try await store.completeFile(
            fileID: oldFile.fileID, size: 3, blocks: [CommittedBlock(blockID: oldFile.blockID!, blockIndex: 0, length: 3, nodes: [node])], now: 2)

        let created = try await store.createFiles(
            try newFiles([("/d/new1", 5), ("/d/old", 5), ("/d/folder", 5), ("/d/old/under", 5), ("/d/new2", 5)]),
            replication: 1, blockBytes: 4096, overwrite: false, now: 5)
        #expect(created.map { (try? $0.get()) != nil } == [true, false, false, false, true])
        let codes = created.map { result -> DFSError.Code? in
            if case .failure(let error) = result { return error.code }
            return nil
        }
        #expect(codes == [nil, .alreadyExists, .isADirectory, .notADirectory, nil])
        #expect(try await store.pendingFileCount() == 2, "the failed entries left no pending rows")
        let good = try [created[0].get(), created[4].get()]
        #expect(try await store.pendingFileLayout(fileID: good[0].fileID).blockBytes == 4096)
        #expect(good[0].blockID != good[1].blockID)
    }

    @Test(arguments: StoreKind.allCases) func aFileThatCannotBeCompletedFailsAloneAndIsRolledBack(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        let created = try await store.createFiles(
            try newFiles([("/a", 4), ("/b", 4), ("/c", 4)]), replication: 1, blockBytes: 4096, overwrite: true, now: 5)
        let made = try created.map { try $0.get() }
        func block(_ index: Int, length: Int = 4) -> [CommittedBlock] {
            [CommittedBlock(blockID: made[index].blockID!, blockIndex: 0, length: length, nodes: [node])]
        }
        let completed = try await store.completeFiles(
            [
                CompleteFile(fileID: made[0].fileID, size: 4, sha256: nil, blocks: block(0)),
                // Wrong: the block holds 4 bytes, the file claims 5.
                CompleteFile(fileID: made[1].fileID, size: 5, sha256: nil, blocks: block(1)),
                // Wrong: another file's block.
                CompleteFile(fileID: made[2].fileID, size: 4, sha256: nil, blocks: block(0)),
            ], now: 6)
        #expect((try? completed[0].get()) != nil)
        guard case .failure(let sizeError) = completed[1], case .failure(let ownerError) = completed[2] else {
            Issue.record("wrong entries were completed")
            return
        }
        #expect(sizeError.code == .invalidArgument)
        #expect(ownerError.code == .invalidArgument)
        #expect(try await names(store, "/") == ["a"])
        // The failed files are still pending and can be completed right.
        let retried = try await store.completeFiles([CompleteFile(fileID: made[1].fileID, size: 4, sha256: nil, blocks: block(1))], now: 7)
        #expect((try? retried[0].get()) != nil)
        #expect(try await names(store, "/") == ["a", "b"])
    }
}
