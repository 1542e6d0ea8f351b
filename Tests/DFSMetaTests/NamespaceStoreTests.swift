import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// Folders, moves and removals in the SQLite store: one transaction each, as `mkdir -p`, `mv`
/// and `rm` behave.
@Suite struct NamespaceStoreTests {
    let store: MetaStore
    let node = NodeID("node-a")

    init() async throws {
        store = try await MetaStore.inMemory(registering: node)
    }

    @discardableResult
    func writeFile(_ path: String, length: Int = 10) async throws -> BlockID {
        try await store.writeOneBlockFile(path, length: length, on: node)
    }

    func names(_ path: String) async throws -> [String] {
        try await store.list(path: try DFSPath(path), after: nil, limit: 1000).entries.map(\.path.name)
    }

    func type(_ path: String) async throws -> EntryType? {
        do {
            return try await store.getFile(path: try DFSPath(path)).info.type
        } catch  where error.code == .notFound {
            return nil
        }
    }

    @Test func makeDirectoryCreatesParentsAndAcceptsAnExistingFolder() async throws {
        try await store.makeDirectory(try DFSPath("/a/b/c"), now: 1)
        #expect(try await type("/a") == .dir)
        #expect(try await type("/a/b") == .dir)
        #expect(try await type("/a/b/c") == .dir)
        try await store.makeDirectory(try DFSPath("/a/b"), now: 2)
        #expect(try await names("/a") == ["b"])
    }

    @Test func folderCannotBeMadeWhereOrUnderAFileIs() async throws {
        try await writeFile("/docs/f")
        for path in ["/docs/f", "/docs/f/sub"] {
            let error = await #expect(throws: DFSError.self) { try await store.makeDirectory(try DFSPath(path), now: 1) }
            #expect(error?.code == .notADirectory)
            #expect(error?.message.contains("/docs/f is a file") == true)
        }
    }

    @Test func fileCannotBeCreatedOverAFolderOrUnderAFile() async throws {
        try await store.makeDirectory(try DFSPath("/d"), now: 1)
        try await writeFile("/f")
        await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/d"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
        await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/f/g"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
    }

    @Test func uploadCreatesTheFoldersAboveIt() async throws {
        try await writeFile("/a/b/c.txt")
        #expect(try await type("/a") == .dir)
        #expect(try await type("/a/b") == .dir)
        #expect(try await names("/a/b") == ["c.txt"])
    }

    @Test func removeFileQueuesItsBlocksForDeletion() async throws {
        let block = try await writeFile("/x/f")
        try await store.remove(try DFSPath("/x/f"), recursive: false, now: 6)
        #expect(try await type("/x/f") == nil)
        #expect(try await type("/x") == .dir)
        #expect(try await store.takeGarbage(nodeID: node, limit: 10) == [block])
    }

    @Test func removeOfANonEmptyFolderNeedsRecursive() async throws {
        let first = try await writeFile("/tree/a/1")
        let second = try await writeFile("/tree/b/c/2")
        try await store.makeDirectory(try DFSPath("/tree/empty"), now: 1)
        try await writeFile("/treehouse/keep")
        let error = await #expect(throws: DFSError.self) { try await store.remove(try DFSPath("/tree"), recursive: false, now: 6) }
        #expect(error?.message.contains("folder not empty: /tree") == true)
        #expect(try await type("/tree/a/1") == .file)
        let removed = try await store.remove(try DFSPath("/tree"), recursive: true, now: 6)
        #expect(removed == 2)
        #expect(try await type("/tree") == nil)
        #expect(try await type("/tree/b/c") == nil)
        // A sibling whose name merely starts with the same letters is untouched.
        #expect(try await type("/treehouse/keep") == .file)
        #expect(Set(try await store.takeGarbage(nodeID: node, limit: 10)) == [first, second])
    }

    @Test func removeOfAnEmptyFolderNeedsNoFlag() async throws {
        try await store.makeDirectory(try DFSPath("/e"), now: 1)
        try await store.remove(try DFSPath("/e"), recursive: false, now: 2)
        #expect(try await type("/e") == nil)
    }

    @Test func removeOfMissingPathOrRootIsAnError() async throws {
        let missing = await #expect(throws: DFSError.self) { try await store.remove(try DFSPath("/nope"), recursive: true, now: 1) }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("/nope") == true)
        await #expect(throws: DFSError.self) { try await store.remove(.root, recursive: true, now: 1) }
    }

    @Test func moveRenamesAFileWithoutTouchingBlocks() async throws {
        let block = try await writeFile("/a/f", length: 33)
        try await store.makeDirectory(try DFSPath("/b"), now: 1)
        try await store.move(try DFSPath("/a/f"), to: try DFSPath("/b/g"), now: 7)
        #expect(try await type("/a/f") == nil)
        let moved = try await store.getFile(path: try DFSPath("/b/g"))
        #expect(moved.info.size == 33)
        #expect(moved.blocks.map(\.blockID) == [block])
        #expect(try await store.takeGarbage(nodeID: node, limit: 10).isEmpty)
    }

    @Test func moveOntoAFolderPutsTheSourceInside() async throws {
        try await writeFile("/f")
        try await store.makeDirectory(try DFSPath("/into"), now: 1)
        let target = try await store.move(try DFSPath("/f"), to: try DFSPath("/into"), now: 2)
        #expect(target == (try DFSPath("/into/f")))
        #expect(try await type("/into/f") == .file)
    }

    @Test func moveOntoAFileReplacesIt() async throws {
        try await writeFile("/new", length: 1)
        let oldBlock = try await writeFile("/old", length: 2)
        try await store.move(try DFSPath("/new"), to: try DFSPath("/old"), now: 3)
        #expect(try await store.getFile(path: try DFSPath("/old")).info.size == 1)
        #expect(try await type("/new") == nil)
        #expect(try await store.takeGarbage(nodeID: node, limit: 10) == [oldBlock])
    }

    @Test func moveOfAFolderMovesEverythingUnderIt() async throws {
        try await writeFile("/src/a/1")
        try await writeFile("/src/a/b/2")
        try await writeFile("/srcx/3")
        try await store.makeDirectory(try DFSPath("/dst"), now: 1)
        let target = try await store.move(try DFSPath("/src"), to: try DFSPath("/dst/deeper"), now: 4)
        #expect(target == (try DFSPath("/dst/deeper")))
        #expect(try await type("/src") == nil)
        #expect(try await type("/dst/deeper/a/1") == .file)
        #expect(try await type("/dst/deeper/a/b/2") == .file)
        #expect(try await names("/dst/deeper/a") == ["1", "b"])
        #expect(try await type("/srcx/3") == .file)
    }

    @Test func folderCannotMoveIntoItselfNorOntoAFile() async throws {
        try await writeFile("/d/f")
        try await writeFile("/g")
        let into = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/d"), to: try DFSPath("/d/sub"), now: 1) }
        #expect(into?.message.contains("into itself") == true)
        await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/d"), to: try DFSPath("/g"), now: 1) }
        #expect(try await type("/d/f") == .file)
    }

    @Test func moveNeedsAnExistingSourceAndTargetFolder() async throws {
        try await writeFile("/f")
        let missing = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/nope"), to: try DFSPath("/x"), now: 1) }
        #expect(missing?.code == .notFound)
        let noParent = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/f"), to: try DFSPath("/no/such/g"), now: 1) }
        #expect(noParent?.code == .notFound)
        #expect(try await type("/f") == .file)
    }

    @Test func namesWithNonASCIILettersMoveAndRemoveByPrefix() async throws {
        try await writeFile("/über/straße/ß")
        try await writeFile("/überall/x")
        try await store.move(try DFSPath("/über"), to: try DFSPath("/ünter"), now: 1)
        #expect(try await type("/ünter/straße/ß") == .file)
        try await store.remove(try DFSPath("/ünter"), recursive: true, now: 2)
        #expect(try await type("/ünter") == nil)
        #expect(try await type("/überall/x") == .file)
    }

    @Test func allocatingABlockRenewsThePendingFilesLease() async throws {
        let fileID = try await store.createFile(path: try DFSPath("/slow"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        _ = try await store.addBlock(fileID: fileID, blockIndex: 0, now: 100)
        #expect(try await store.expirePendingFiles(createdBefore: 50, now: 120) == 0, "the lease restarted at 100")
        #expect(try await store.expirePendingFiles(createdBefore: 150, now: 160) == 1)
    }
}
