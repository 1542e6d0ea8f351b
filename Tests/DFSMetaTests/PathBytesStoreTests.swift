import DFSCore
import Foundation
import Testing

@testable import DFSMeta

extension MetaStore {
    /// A row written straight into the database, as an older version or a hand edit left it.
    func insertRawRow(_ table: String, path: String, parent: String, name: String) throws(DFSError) {
        if table == "dirs" {
            try database.run("INSERT INTO dirs(path, parent, name, mtime) VALUES(?, ?, ?, 1)", [.text(path), .text(parent), .text(name)])
        } else {
            try database.run(
                """
                INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created)
                VALUES(?, ?, ?, 0, 1, 1, 4096, 1, 1)
                """, [.text(path), .text(parent), .text(name)])
        }
    }

    func rawRows(_ table: String) throws(DFSError) -> [[UInt8]] {
        try database.query("SELECT path FROM \(table) ORDER BY path") { Array($0.text(0).utf8) }
    }
}

/// The store splits, matches and compares paths on their bytes, as SQLite does and as the
/// PostgreSQL schema's `COLLATE "C"` does: a name that starts with a combining mark, or two
/// names that String would call equal, are told apart.
@Suite struct PathBytesStoreTests {
    let node = NodeID("node-a")

    @discardableResult
    func writeFile(_ store: MetaStore, _ path: String, length: Int = 10) async throws -> BlockID {
        try await store.writeOneBlockFile(path, length: length, on: node)
    }

    /// A folder's names as bytes: String's `==` would take `é` and `e` + U+0301 for one.
    func names(_ store: MetaStore, _ path: String) async throws -> [[UInt8]] {
        try await store.list(path: try DFSPath(path), after: nil, limit: 1000).entries.map { Array($0.path.name.utf8) }
    }

    func exists(_ store: MetaStore, _ path: String) async throws -> Bool {
        do {
            let found = try await store.getFile(path: try DFSPath(path))
            return found.info.path.string.utf8.elementsEqual(try DFSPath(path).string.utf8)
        } catch  where error.code == .notFound {
            return false
        }
    }

    @Test(arguments: StoreKind.allCases) func fileAfterACombiningMarkLandsInItsFolder(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/x/\u{301}y")
        #expect(try await names(store, "/") == [Array("x".utf8)])
        #expect(try await names(store, "/x") == [Array("\u{301}y".utf8)])
        #expect(try await store.pathProblems(under: .root, limit: 10) == nil)
    }

    @Test(arguments: StoreKind.allCases) func moveIntoItselfThroughACombiningMarkIsRefused(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/m/keep")
        let error = await #expect(throws: DFSError.self) {
            try await store.move(try DFSPath("/m"), to: try DFSPath("/m/\u{301}n"), now: 2)
        }
        #expect(error?.message.contains("into itself") == true, "\(error?.message ?? "")")
        #expect(try await exists(store, "/m/keep"))
        #expect(try await store.rawRows("dirs") == [Array("/m".utf8)])
    }

    @Test(arguments: StoreKind.allCases) func recursiveRemoveTakesExactlyTheFolderAndWhatItHolds(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/x/\u{301}y")
        try await writeFile(store, "/x\u{301}/y")
        try await writeFile(store, "/xy")
        try await store.remove(try DFSPath("/x"), recursive: true, now: 6)
        // In byte order: 'y' (0x79) before the first byte of U+0301 (0xCC).
        #expect(try await store.rawRows("files") == [Array("/xy".utf8), Array("/x\u{301}/y".utf8)])
        #expect(try await store.rawRows("dirs") == [Array("/x\u{301}".utf8)])
        #expect(try await exists(store, "/x\u{301}/y"))
    }

    @Test(arguments: StoreKind.allCases) func moveOfAFolderTakesANameStartingWithACombiningMarkAlong(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/x/\u{301}y")
        try await writeFile(store, "/x\u{301}/y")
        try await store.move(try DFSPath("/x"), to: try DFSPath("/z"), now: 6)
        #expect(try await exists(store, "/z/\u{301}y"))
        #expect(try await !exists(store, "/x/\u{301}y"))
        #expect(try await names(store, "/") == [Array("x\u{301}".utf8), Array("z".utf8)])
        #expect(try await store.rawRows("files") == [Array("/x\u{301}/y".utf8), Array("/z/\u{301}y".utf8)])
        #expect(try await store.pathProblems(under: .root, limit: 10) == nil)
    }

    @Test(arguments: StoreKind.allCases) func canonicallyEquivalentNamesAreSeparateEntries(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/\u{E9}/1", length: 1)
        try await writeFile(store, "/e\u{301}/2", length: 2)
        #expect(try await names(store, "/") == [Array("e\u{301}".utf8), Array("\u{E9}".utf8)])
        try await store.move(try DFSPath("/\u{E9}"), to: try DFSPath("/e\u{301}"), now: 7)
        // Onto the other, existing folder: inside it, not onto itself.
        #expect(try await exists(store, "/e\u{301}/\u{E9}/1"))
        #expect(try await exists(store, "/e\u{301}/2"))
    }

    @Test(arguments: StoreKind.allCases) func importMakesTheFolderOfEachOfTwoEquivalentNames(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.importFiles(
            [
                .init(path: try DFSPath("/\u{E9}/a"), size: 1, checksum: 0, nodes: [node]),
                .init(path: try DFSPath("/e\u{301}/b"), size: 1, checksum: 0, nodes: [node]),
            ], now: 1)
        #expect(try await names(store, "/") == [Array("e\u{301}".utf8), Array("\u{E9}".utf8)])
        #expect(try await names(store, "/e\u{301}") == [Array("b".utf8)])
        #expect(try await store.pathProblems(under: .root, limit: 10) == nil)
    }

    // MARK: - fsck

    @Test(arguments: StoreKind.allCases) func fsckFindsRowsWhosePathParentAndNameDisagree(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await writeFile(store, "/ok/f")
        // What `cp small dfs:/x/\u{301}y` stored when paths were split on characters.
        try await store.insertRawRow("files", path: "/x/\u{301}y", parent: "/", name: "x/\u{301}y")
        try await store.insertRawRow("dirs", path: "/d/e", parent: "/", name: "e")
        try await store.insertRawRow("dirs", path: "/lost/sub", parent: "/lost", name: "sub")
        let found = try #require(try await store.pathProblems(under: .root, limit: 10))
        #expect(found.count == 3)
        let byPath = Dictionary(uniqueKeysWithValues: found.rows.map { (Array($0.path.utf8), $0) })
        let ghost = try #require(byPath[Array("/x/\u{301}y".utf8)])
        #expect(ghost.type == .file)
        #expect(ghost.problem.contains("puts it in /x"), "\(ghost.problem)")
        #expect(byPath[Array("/d/e".utf8)]?.problem.contains("puts it in /d") == true)
        #expect(byPath[Array("/lost/sub".utf8)]?.problem.contains("folder /lost does not exist") == true)
        // Under a path: only what lies there.
        let under = try #require(try await store.pathProblems(under: try DFSPath("/x"), limit: 10))
        #expect(under.rows.map(\.type) == [.file])
        #expect(try await store.pathProblems(under: try DFSPath("/ok"), limit: 10) == nil)
        // The limit bounds the list, not the count.
        let limited = try #require(try await store.pathProblems(under: .root, limit: 1))
        #expect(limited.count == 3)
        #expect(limited.rows.count == 1)
    }

    @Test(arguments: StoreKind.allCases) func fsckFindsPathsThatAreNotInNormalForm(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.insertRawRow("dirs", path: "/a/./b", parent: "/a/.", name: "b")
        try await store.insertRawRow("dirs", path: "//c", parent: "/", name: "/c")
        try await store.insertRawRow("dirs", path: "/tab\tname", parent: "/", name: "tab\tname")
        let long = String(repeating: "n", count: Limits.nameBytesMax + 1)
        try await store.insertRawRow("files", path: "/" + long, parent: "/", name: long)
        let found = try #require(try await store.pathProblems(under: .root, limit: 10))
        #expect(found.count == 4)
        #expect(found.rows.filter { $0.problem.contains("not a valid path") }.count == 3)
    }

    @Test(arguments: StoreKind.allCases) func listingLeavesOutARowThatIsNotInTheListedFolder(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.insertRawRow("files", path: "/x/\u{301}y", parent: "/", name: "x/\u{301}y")
        try await store.insertRawRow("dirs", path: "/x/\u{301}z", parent: "/", name: "x/\u{301}z")
        try await store.insertRawRow("dirs", path: "/d/e", parent: "/", name: "e")
        #expect(try await names(store, "/").isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func pagesReachEveryEntryPastRowsThatAreLeftOut(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.makeDirectory(try DFSPath("/b"), now: 1)
        for index in 1...3 {
            try await store.insertRawRow("dirs", path: "/c/\u{301}\(index)", parent: "/", name: "c/\u{301}\(index)")
        }
        // A folder, so that every row of the page comes from one table.
        try await store.makeDirectory(try DFSPath("/z"), now: 1)
        var listed: [String] = []
        var after: String?
        var pages = 0
        while pages < 10 {
            pages += 1
            let page = try await store.list(path: .root, after: after, limit: 2)
            listed += page.entries.map(\.path.string)
            guard page.more else { break }
            // A page that promises more has an entry to go on from.
            after = try #require(page.entries.last).path.name
        }
        #expect(listed == ["/b", "/z"])
    }

    // MARK: - Names that would make listings lie

    @Test(arguments: StoreKind.allCases) func newNamesWithBidirectionalOrC1ControlsAreRefused(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        for path in ["/photo\u{202E}gpj.exe", "/d\u{2067}/f", "/c1\u{85}"] {
            let create = await #expect(throws: DFSError.self) {
                try await store.createFile(path: try DFSPath(path), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
            }
            #expect(create?.code == .invalidPath)
            #expect(create?.message.contains("U+") == true)
            let mkdir = await #expect(throws: DFSError.self) { try await store.makeDirectory(try DFSPath(path), now: 1) }
            #expect(mkdir?.code == .invalidPath)
        }
        try await writeFile(store, "/clean")
        let move = await #expect(throws: DFSError.self) {
            try await store.move(try DFSPath("/clean"), to: try DFSPath("/bad\u{200F}"), now: 2)
        }
        #expect(move?.code == .invalidPath)
        let batch = try await store.createFiles(
            [NewFile(path: try DFSPath("/b/ok"), size: 1), NewFile(path: try DFSPath("/b/no\u{202D}"), size: 1)],
            replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        #expect(try batch[0].get().fileID > 0)
        #expect(throws: DFSError.self) { try batch[1].get() }
        #expect(try await store.rawRows("files") == [Array("/b/ok".utf8), Array("/clean".utf8)])
    }

    @Test(arguments: StoreKind.allCases) func aStoredNameWithABidirectionalControlCanBeListedMovedAndRemoved(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node])
        try await store.insertRawRow("dirs", path: "/old\u{202E}name", parent: "/", name: "old\u{202E}name")
        #expect(try await names(store, "/") == [Array("old\u{202E}name".utf8)])
        try await store.move(try DFSPath("/old\u{202E}name"), to: try DFSPath("/renamed"), now: 2)
        #expect(try await names(store, "/") == [Array("renamed".utf8)])
        try await store.insertRawRow("dirs", path: "/gone\u{2066}", parent: "/", name: "gone\u{2066}")
        try await store.remove(try DFSPath("/gone\u{2066}"), recursive: false, now: 3)
        #expect(try await names(store, "/") == [Array("renamed".utf8)])
    }
}
