import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// Folders, moves and removals in the store: one transaction each, as `mkdir -p`, `mv` and
/// `rm` behave.
@Suite struct NamespaceStoreTests {
    let node = NodeID("node-a")

    @discardableResult
    func writeFile(_ store: MetaStore, _ path: String, length: Int = 10) async throws -> BlockID {
        try await store.writeOneBlockFile(path, length: length, on: node)
    }

    func names(_ store: MetaStore, _ path: String) async throws -> [String] {
        try await store.list(path: try DFSPath(path), after: nil, limit: 1000).entries.map(\.path.name)
    }

    func type(_ store: MetaStore, _ path: String) async throws -> EntryType? {
        do {
            return try await store.getFile(path: try DFSPath(path)).info.type
        } catch  where error.code == .notFound {
            return nil
        }
    }

    @Test(arguments: StoreKind.allCases) func makeDirectoryCreatesParentsAndAcceptsAnExistingFolder(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.makeDirectory(try DFSPath("/a/b/c"), now: 1)
        #expect(try await type(store, "/a") == .dir)
        #expect(try await type(store, "/a/b") == .dir)
        #expect(try await type(store, "/a/b/c") == .dir)
        try await store.makeDirectory(try DFSPath("/a/b"), now: 2)
        #expect(try await names(store, "/a") == ["b"])
    }

    @Test(arguments: StoreKind.allCases) func folderCannotBeMadeWhereOrUnderAFileIs(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/docs/f")
        for path in ["/docs/f", "/docs/f/sub"] {
            let error = await #expect(throws: DFSError.self) { try await store.makeDirectory(try DFSPath(path), now: 1) }
            #expect(error?.code == .notADirectory)
            #expect(error?.message.contains("/docs/f is a file") == true)
        }
    }

    @Test(arguments: StoreKind.allCases) func fileCannotBeCreatedOverAFolderOrUnderAFile(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.makeDirectory(try DFSPath("/d"), now: 1)
        try await writeFile(store, "/f")
        await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/d"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
        await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/f/g"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func uploadCreatesTheFoldersAboveIt(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/a/b/c.txt")
        #expect(try await type(store, "/a") == .dir)
        #expect(try await type(store, "/a/b") == .dir)
        #expect(try await names(store, "/a/b") == ["c.txt"])
    }

    @Test(arguments: StoreKind.allCases) func removeFileQueuesItsBlocksForDeletion(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        let block = try await writeFile(store, "/x/f")
        try await store.remove(try DFSPath("/x/f"), recursive: false, now: 6)
        #expect(try await type(store, "/x/f") == nil)
        #expect(try await type(store, "/x") == .dir)
        #expect(try await store.takeGarbage(nodeID: node, limit: 10) == [block])
    }

    @Test(arguments: StoreKind.allCases) func removeOfANonEmptyFolderNeedsRecursive(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        let first = try await writeFile(store, "/tree/a/1")
        let second = try await writeFile(store, "/tree/b/c/2")
        try await store.makeDirectory(try DFSPath("/tree/empty"), now: 1)
        try await writeFile(store, "/treehouse/keep")
        let error = await #expect(throws: DFSError.self) { try await store.remove(try DFSPath("/tree"), recursive: false, now: 6) }
        #expect(error?.message.contains("folder not empty: /tree") == true)
        #expect(try await type(store, "/tree/a/1") == .file)
        let removed = try await store.remove(try DFSPath("/tree"), recursive: true, now: 6)
        #expect(removed == 2)
        #expect(try await type(store, "/tree") == nil)
        #expect(try await type(store, "/tree/b/c") == nil)
        // A sibling whose name merely starts with the same letters is untouched.
        #expect(try await type(store, "/treehouse/keep") == .file)
        #expect(Set(try await store.takeGarbage(nodeID: node, limit: 10)) == [first, second])
    }

    @Test(arguments: StoreKind.allCases) func removeOfAnEmptyFolderNeedsNoFlag(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.makeDirectory(try DFSPath("/e"), now: 1)
        try await store.remove(try DFSPath("/e"), recursive: false, now: 2)
        #expect(try await type(store, "/e") == nil)
    }

    @Test(arguments: StoreKind.allCases) func removeOfMissingPathOrRootIsAnError(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        let missing = await #expect(throws: DFSError.self) { try await store.remove(try DFSPath("/nope"), recursive: true, now: 1) }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("/nope") == true)
        await #expect(throws: DFSError.self) { try await store.remove(.root, recursive: true, now: 1) }
    }

    @Test(arguments: StoreKind.allCases) func moveRenamesAFileWithoutTouchingBlocks(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        let block = try await writeFile(store, "/a/f", length: 33)
        try await store.makeDirectory(try DFSPath("/b"), now: 1)
        try await store.move(try DFSPath("/a/f"), to: try DFSPath("/b/g"), now: 7)
        #expect(try await type(store, "/a/f") == nil)
        let moved = try await store.getFile(path: try DFSPath("/b/g"))
        #expect(moved.info.size == 33)
        #expect(moved.blocks.map(\.blockID) == [block])
        #expect(try await store.takeGarbage(nodeID: node, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func moveOntoAFolderPutsTheSourceInside(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/f")
        try await store.makeDirectory(try DFSPath("/into"), now: 1)
        let target = try await store.move(try DFSPath("/f"), to: try DFSPath("/into"), now: 2)
        #expect(target == (try DFSPath("/into/f")))
        #expect(try await type(store, "/into/f") == .file)
    }

    @Test(arguments: StoreKind.allCases) func moveOntoAFileReplacesIt(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/new", length: 1)
        let oldBlock = try await writeFile(store, "/old", length: 2)
        try await store.move(try DFSPath("/new"), to: try DFSPath("/old"), now: 3)
        #expect(try await store.getFile(path: try DFSPath("/old")).info.size == 1)
        #expect(try await type(store, "/new") == nil)
        #expect(try await store.takeGarbage(nodeID: node, limit: 10) == [oldBlock])
    }

    @Test(arguments: StoreKind.allCases) func moveOfAFolderMovesEverythingUnderIt(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/src/a/1")
        try await writeFile(store, "/src/a/b/2")
        try await writeFile(store, "/srcx/3")
        try await store.makeDirectory(try DFSPath("/dst"), now: 1)
        let target = try await store.move(try DFSPath("/src"), to: try DFSPath("/dst/deeper"), now: 4)
        #expect(target == (try DFSPath("/dst/deeper")))
        #expect(try await type(store, "/src") == nil)
        #expect(try await type(store, "/dst/deeper/a/1") == .file)
        #expect(try await type(store, "/dst/deeper/a/b/2") == .file)
        #expect(try await names(store, "/dst/deeper/a") == ["1", "b"])
        #expect(try await type(store, "/srcx/3") == .file)
    }

    @Test(arguments: StoreKind.allCases) func folderCannotMoveIntoItselfNorOntoAFile(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/d/f")
        try await writeFile(store, "/g")
        let into = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/d"), to: try DFSPath("/d/sub"), now: 1) }
        #expect(into?.message.contains("into itself") == true)
        await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/d"), to: try DFSPath("/g"), now: 1) }
        #expect(try await type(store, "/d/f") == .file)
    }

    @Test(arguments: StoreKind.allCases) func moveNeedsAnExistingSourceAndTargetFolder(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/f")
        let missing = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/nope"), to: try DFSPath("/x"), now: 1) }
        #expect(missing?.code == .notFound)
        let noParent = await #expect(throws: DFSError.self) { try await store.move(try DFSPath("/f"), to: try DFSPath("/no/such/g"), now: 1) }
        #expect(noParent?.code == .notFound)
        #expect(try await type(store, "/f") == .file)
    }

    @Test(arguments: StoreKind.allCases) func namesWithNonASCIILettersMoveAndRemoveByPrefix(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/über/straße/ß")
        try await writeFile(store, "/überall/x")
        try await store.move(try DFSPath("/über"), to: try DFSPath("/ünter"), now: 1)
        #expect(try await type(store, "/ünter/straße/ß") == .file)
        try await store.remove(try DFSPath("/ünter"), recursive: true, now: 2)
        #expect(try await type(store, "/ünter") == nil)
        #expect(try await type(store, "/überall/x") == .file)
    }

    @Test(arguments: StoreKind.allCases) func allocatingABlockRenewsThePendingFilesLease(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        let fileID = try await store.createFile(path: try DFSPath("/slow"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        _ = try await store.addBlock(fileID: fileID, blockIndex: 0, now: 100)
        #expect(try await store.expirePendingFiles(createdBefore: 50, now: 120) == 0, "the lease restarted at 100")
        #expect(try await store.expirePendingFiles(createdBefore: 150, now: 160) == 1)
    }
}
