import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// Permission bits, owners and symbolic links in the namespace, on each engine.
@Suite struct AttributeStoreTests {
    let node = NodeID("node-a")

    /// Creates and completes a file of one block of `length` bytes, one by one.
    func write(_ store: MetaStore, _ path: String, length: Int) async throws {
        try await store.writeOneBlockFile(path, length: length, on: node)
    }

    /// Writes files of a batch, as a tree copy does, each created with `attributes`.
    func writeBatch(_ store: MetaStore, _ paths: [String], attributes: (mode: Int?, uid: Int?, gid: Int?) = (nil, nil, nil)) async throws {
        let created = try await store.createFiles(
            paths.map { NewFile(path: try DFSPath($0), size: 5, mode: attributes.mode, uid: attributes.uid, gid: attributes.gid) },
            replication: 1, blockBytes: 4096, overwrite: true, now: 7)
        let completions = try created.map { result in
            let file = try result.get()
            return CompleteFile(
                fileID: file.fileID, size: 5, sha256: nil, blocks: [CommittedBlock(blockID: file.blockID!, blockIndex: 0, length: 5, nodes: [node])])
        }
        for result in try await store.completeFiles(completions, now: 8) { try result.get() }
    }

    /// Files created with attributes (as the mount creates new files) have them once
    /// complete; a new version given only some keeps the old version's others.
    @Test(arguments: StoreKind.allCases) func attributesGivenAtCreationAreStored(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await writeBatch(store, ["/m/a", "/m/b"], attributes: (0o640, 1001, 1002))
        for path in ["/m/a", "/m/b"] {
            let file = try await store.getFile(path: try DFSPath(path)).info
            #expect(file.mode == 0o640 && file.uid == 1001 && file.gid == 1002 && file.modeString == "-rw-r-----")
        }
        try await writeBatch(store, ["/m/a"], attributes: (0o600, nil, nil))
        let replaced = try await store.getFile(path: try DFSPath("/m/a")).info
        #expect(replaced.mode == 0o600 && replaced.uid == 1001 && replaced.gid == 1002)
        try await writeBatch(store, ["/m/b"])
        let kept = try await store.getFile(path: try DFSPath("/m/b")).info
        #expect(kept.mode == 0o640 && kept.uid == 1001 && kept.gid == 1002)
        // Out of range: the request is refused before it reaches the store.
        let bad = CreateFiles(files: [NewFile(path: try DFSPath("/m/c"), size: 1, mode: 0o10000)], replication: 1, blockBytes: 4096, overwrite: true)
        #expect(throws: DFSError.self) { try bad.validate() }
    }

    /// A move keeps a file's time, mode and owner (`rsync -a` sets them on a temporary
    /// name, then renames it into place), whether it replaces a file or not.
    @Test(arguments: StoreKind.allCases) func moveKeepsAFilesTimeModeAndOwner(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await write(store, "/d/.temp", length: 3)
        try await write(store, "/d/taken", length: 4)
        try await store.setAttributes(SetAttributes(path: try DFSPath("/d/.temp"), mode: 0o600, uid: 7, gid: 8, mtime: 1234))
        try await store.move(try DFSPath("/d/.temp"), to: try DFSPath("/d/kept"), now: 5000)
        let moved = try await store.getFile(path: try DFSPath("/d/kept")).info
        #expect(moved.mtime == 1234 && moved.mode == 0o600 && moved.uid == 7 && moved.gid == 8)
        try await store.setAttributes(SetAttributes(path: try DFSPath("/d/kept"), mtime: 2345))
        try await store.move(try DFSPath("/d/kept"), to: try DFSPath("/d/taken"), now: 6000)
        #expect(try await store.getFile(path: try DFSPath("/d/taken")).info.mtime == 2345)
    }

    @Test(arguments: StoreKind.allCases) func attributesAreSetShownAndKeptByANewVersion(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await write(store, "/d/one", length: 3)
        try await write(store, "/d/batch", length: 3)
        let file = try await store.getFile(path: try DFSPath("/d/one")).info
        #expect(file.mode == nil && file.uid == nil && file.gid == nil && file.shownMode == 0o644 && file.modeString == "-rw-r--r--")

        try await store.setAttributes(SetAttributes(path: try DFSPath("/d/one"), mode: 0o4750, uid: 1000))
        try await store.setAttributes(SetAttributes(path: try DFSPath("/d/one"), gid: 50, mtime: 1234))
        try await store.setAttributes(SetAttributes(path: try DFSPath("/d/batch"), mode: 0o600, uid: 7, gid: 8))
        try await store.setAttributes(SetAttributes(path: try DFSPath("/d"), mode: 0o1777, uid: 0, gid: 0))
        let set = try await store.getFile(path: try DFSPath("/d/one")).info
        #expect(set.mode == 0o4750 && set.uid == 1000 && set.gid == 50 && set.mtime == 1234 && set.modeString == "-rwsr-x---")
        let folder = try await store.getFile(path: try DFSPath("/d")).info
        #expect(folder.mode == 0o1777 && folder.uid == 0 && folder.modeString == "drwxrwxrwt")
        // Listings and lookups of many paths show them too.
        let listed = try await store.list(path: try DFSPath("/"), after: nil, limit: 10).entries
        #expect(listed.first?.mode == 0o1777)
        let many = try await store.getFiles(paths: [try DFSPath("/d/one"), try DFSPath("/d")]).map { try $0.get().info.mode }
        #expect(many == [0o4750, 0o1777])

        // A new version, written alone or in a batch, keeps them.
        try await write(store, "/d/one", length: 9)
        try await writeBatch(store, ["/d/batch", "/d/new"])
        let rewritten = try await store.getFile(path: try DFSPath("/d/one")).info
        #expect(rewritten.size == 9 && rewritten.mode == 0o4750 && rewritten.uid == 1000 && rewritten.gid == 50)
        let batch = try await store.getFile(path: try DFSPath("/d/batch")).info
        #expect(batch.size == 5 && batch.mode == 0o600 && batch.uid == 7 && batch.gid == 8)
        #expect(try await store.getFile(path: try DFSPath("/d/new")).info.mode == nil)
        // A move keeps them.
        try await store.makeDirectory(try DFSPath("/e"), now: 20)
        try await store.move(try DFSPath("/d/one"), to: try DFSPath("/e/one"), now: 20)
        #expect(try await store.getFile(path: try DFSPath("/e/one")).info.mode == 0o4750)

        await #expect(throws: DFSError.self) { try await store.setAttributes(SetAttributes(path: try DFSPath("/missing"), mode: 0o600)) }
        await #expect(throws: DFSError.self) { try await store.setAttributes(SetAttributes(path: .root, mode: 0o700)) }
        #expect(throws: DFSError.self) { try SetAttributes(path: try DFSPath("/d"), mode: 0o10000).validate() }
        #expect(throws: DFSError.self) { try SetAttributes(path: try DFSPath("/d"), uid: -1).validate() }
    }

    @Test(arguments: StoreKind.allCases) func linksKeepTheirTargetsAndFollowTheNamespaceRules(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await write(store, "/d/file", length: 3)
        try await store.makeLink(try DFSPath("/d/sub/link"), target: "../file", overwrite: false, now: 5)
        let link = try await store.getFile(path: try DFSPath("/d/sub/link"))
        #expect(link.info.type == .link && link.info.target == "../file" && link.info.size == 7 && link.blocks.isEmpty)
        #expect(link.info.modeString == "lrwxrwxrwx")
        #expect(try await store.getFile(path: try DFSPath("/d/sub")).info.type == .dir, "the link's folders are made")
        let listed = try await store.list(path: try DFSPath("/d/sub"), after: nil, limit: 10).entries
        #expect(listed.map(\.type) == [.link] && listed.first?.target == "../file")
        let many = try await store.getFiles(paths: [try DFSPath("/d/sub/link"), try DFSPath("/d/file")]).map { try $0.get().info.target }
        #expect(many == ["../file", nil])

        // Refused: an existing name without overwrite, a folder's name, under a file.
        await #expect(throws: DFSError.self) { try await store.makeLink(try DFSPath("/d/file"), target: "x", overwrite: false, now: 6) }
        await #expect(throws: DFSError.self) { try await store.makeLink(try DFSPath("/d/sub"), target: "x", overwrite: true, now: 6) }
        await #expect(throws: DFSError.self) { try await store.makeLink(try DFSPath("/d/file/under"), target: "x", overwrite: true, now: 6) }
        #expect(throws: DFSError.self) { try MakeLink(path: try DFSPath("/d/x"), target: "").validate() }
        #expect(throws: DFSError.self) { try MakeLink(path: try DFSPath("/d/x"), target: String(repeating: "a", count: 4097)).validate() }

        // With overwrite, a link replaces a file, whose block goes to be deleted.
        try await store.makeLink(try DFSPath("/d/file"), target: "/elsewhere", overwrite: true, now: 7)
        let replaced = try await store.getFile(path: try DFSPath("/d/file"))
        #expect(replaced.info.type == .link && replaced.info.target == "/elsewhere" && replaced.blocks.isEmpty)
        // Links move and go as files do.
        try await store.move(try DFSPath("/d/sub/link"), to: try DFSPath("/d/moved"), now: 8)
        #expect(try await store.getFile(path: try DFSPath("/d/moved")).info.target == "../file")
        try await store.remove(try DFSPath("/d"), recursive: true, now: 9)
        await #expect(throws: DFSError.self) { try await store.getFile(path: try DFSPath("/d/moved")) }
    }
}
