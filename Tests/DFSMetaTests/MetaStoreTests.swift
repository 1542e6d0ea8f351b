import DFSCore
import Foundation
import Testing

@testable import DFSMeta

/// The store on each engine: namespace rules, visibility, replacement, paging.
@Suite struct MetaStoreTests {
    let node = NodeID("node-a")
    let other = NodeID("node-b")

    /// A new store of `kind` with both nodes registered.
    func makeStore(_ kind: StoreKind) async throws -> MetaStore {
        try await kind.makeStore(registering: [node, other])
    }

    /// Creates, fills and completes a file of `lengths` blocks on `nodes`.
    @discardableResult
    func writeFile(_ store: MetaStore, _ path: String, lengths: [Int], blockBytes: Int = 4096, nodes: [NodeID]? = nil, now: Double = 10) async throws
        -> [BlockID]
    {
        let fileID = try await store.createFile(path: try DFSPath(path), replication: 1, blockBytes: blockBytes, overwrite: true, now: now)
        var committed: [CommittedBlock] = []
        for (index, length) in lengths.enumerated() {
            let blockID = try await store.addBlock(fileID: fileID, blockIndex: index)
            committed.append(CommittedBlock(blockID: blockID, blockIndex: index, length: length, nodes: nodes ?? [node]))
        }
        try await store.completeFile(fileID: fileID, size: lengths.reduce(0, +), blocks: committed, now: now)
        return committed.map(\.blockID)
    }

    @Test(arguments: StoreKind.allCases) func completedFileIsVisibleWithItsBlocksInOrder(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let blocks = try await writeFile(store, "/docs/a.pdf", lengths: [4096, 4096, 10], nodes: [node, other])
        let found = try await store.getFile(path: try DFSPath("/docs/a.pdf"))
        #expect(found.info.type == .file)
        #expect(found.info.size == 8202)
        #expect(found.blocks.map(\.blockID) == blocks)
        #expect(found.blocks.map(\.length) == [4096, 4096, 10])
        #expect(found.blocks[0].replicas.map(\.nodeID) == [node, other])
        #expect(found.blocks[0].replicas[0].address == Endpoint(host: "127.0.0.1", port: 7001))
    }

    /// A file's CRC32C is combined from its blocks' at completion: the same as the CRC32C
    /// of the blocks' bytes one after the other.
    /// `getFiles` and the lookups of requests at once answer each path as `getFile` does, in
    /// the order asked: files of several blocks on several nodes, a folder, the root, a
    /// missing path, a path asked twice; more paths than one statement takes, and counts
    /// that are not a power of two.
    @Test(arguments: StoreKind.allCases) func manyLookupsAnswerEachPathAsOneLookupDoes(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        var paths: [DFSPath] = []
        for index in 0..<300 {
            let lengths = index % 3 == 0 ? [4096, 4096, index + 1] : [index + 1]
            try await writeFile(store, "/many/f\(index)", lengths: lengths, nodes: index % 2 == 0 ? [node, other] : [other])
            paths.append(try DFSPath("/many/f\(index)"))
        }
        paths += [try DFSPath("/many"), .root, try DFSPath("/many/missing"), try DFSPath("/many/f7"), try DFSPath("/many/f0/under")]
        func described(_ result: Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>) -> String {
            switch result {
            case .success(let found): "\(found.info) \(found.blocks)"
            case .failure(let error): "\(error.code)"
            }
        }
        var one: [String] = []
        for path in paths {
            do throws(DFSError) { one.append(described(.success(try await store.getFile(path: path)))) } catch { one.append(described(.failure(error))) }
        }
        #expect(one[0].contains("replicas"))
        #expect(one[paths.count - 3] == "notFound")
        let many = try await store.getFiles(paths: Array(paths.prefix(256))) + store.getFiles(paths: Array(paths.dropFirst(256)))
        #expect(many.map(described) == one)
        // Requests at once, of 1, 3, 7 and all the paths, each answered in its own order.
        let sizes = [1, 3, 7, paths.count]
        let answers = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for (index, size) in sizes.enumerated() {
                let asked = Array(paths.suffix(size).reversed())
                group.addTask { (index, try await store.lookUpTogether(asked).map(described)) }
            }
            return try await group.reduce(into: [Int: [String]]()) { $0[$1.0] = $1.1 }
        }
        for (index, size) in sizes.enumerated() {
            #expect(answers[index] == Array(one.suffix(size).reversed()), "a request of \(size) paths")
        }
    }

    @Test(arguments: StoreKind.allCases) func wholeFileChecksumIsCombinedFromTheBlocks(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let parts: [[UInt8]] = [Array(repeating: 7, count: 4096), (0..<4096).map { UInt8(truncatingIfNeeded: $0) }, [1, 2, 3]]
        let fileID = try await store.createFile(path: try DFSPath("/c"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        var committed: [CommittedBlock] = []
        for (index, part) in parts.enumerated() {
            let blockID = try await store.addBlock(fileID: fileID, blockIndex: index)
            committed.append(CommittedBlock(blockID: blockID, blockIndex: index, length: part.count, checksum: CRC32C.checksum(part), nodes: [node]))
        }
        let info = try await store.completeFile(fileID: fileID, size: 8195, blocks: committed, now: 2)
        #expect(info.crc32c == CRC32C.checksum(parts.flatMap { $0 }))
        #expect(try await store.list(path: .root, after: nil, limit: 10).entries.first?.crc32c == info.crc32c)
        // An empty file has the CRC32C of no bytes.
        let empty = try await store.createFile(path: try DFSPath("/e"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        #expect(try await store.completeFile(fileID: empty, size: 0, blocks: [], now: 2).crc32c == 0)
    }

    @Test(arguments: StoreKind.allCases) func pendingFileIsInvisible(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/p"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        _ = try await store.addBlock(fileID: fileID, blockIndex: 0)
        await #expect(throws: DFSError.self) { try await store.getFile(path: try DFSPath("/p")) }
        #expect(try await store.list(path: .root, after: nil, limit: 100).entries.isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func blockIDsAreNeverReused(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let first = try await writeFile(store, "/a", lengths: [1])
        try await store.abandonFile(
            fileID: try await store.createFile(path: try DFSPath("/b"), replication: 1, blockBytes: 4096, overwrite: true, now: 1),
            now: Date().timeIntervalSince1970)
        let second = try await writeFile(store, "/a", lengths: [1])
        #expect(second[0] > first[0])
    }

    @Test(arguments: StoreKind.allCases) func overwriteReplacesTheFileAndQueuesOldReplicasForDeletion(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let old = try await writeFile(store, "/f", lengths: [100, 50], nodes: [node, other])
        try await writeFile(store, "/f", lengths: [7])
        let found = try await store.getFile(path: try DFSPath("/f"))
        #expect(found.info.size == 7)
        let garbageA = try await store.takeGarbage(nodeID: node, limit: 100)
        let garbageB = try await store.takeGarbage(nodeID: other, limit: 100)
        #expect(Set(garbageA) == Set(old))
        #expect(Set(garbageB) == Set(old))
        // Each is handed out once.
        #expect(try await store.takeGarbage(nodeID: node, limit: 100).isEmpty)
        #expect(try await store.list(path: .root, after: nil, limit: 100).entries.count == 1)
    }

    @Test(arguments: StoreKind.allCases) func createWithoutOverwriteRefusesAnExistingFile(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/f", lengths: [1])
        let error = await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/f"), replication: 1, blockBytes: 4096, overwrite: false, now: 1)
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.message.contains("/f") == true)
    }

    @Test(arguments: StoreKind.allCases) func fileCannotGoUnderAFileNorOnAFolder(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/a/b", lengths: [1])
        let under = await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/a/b/c"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
        #expect(under?.code == .notADirectory)
        #expect(under?.message.contains("/a/b") == true)
        let onFolder = await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: try DFSPath("/a"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
        #expect(onFolder?.code == .isADirectory)
        await #expect(throws: DFSError.self) {
            _ = try await store.createFile(path: .root, replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func folderCreatedWhileAFileWasPendingStopsItsCompletion(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/x"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        let blockID = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await writeFile(store, "/x/inner", lengths: [1])
        let error = await #expect(throws: DFSError.self) {
            try await store.completeFile(fileID: fileID, size: 1, blocks: [CommittedBlock(blockID: blockID, blockIndex: 0, length: 1, nodes: [node])], now: 2)
        }
        #expect(error?.code == .isADirectory)
    }

    @Test(arguments: StoreKind.allCases) func nestedPathCreatesItsFolders(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/a/b/c.txt", lengths: [3])
        let root = try await store.list(path: .root, after: nil, limit: 100)
        #expect(root.entries.map(\.path.string) == ["/a"])
        #expect(root.entries.first?.type == .dir)
        let a = try await store.list(path: try DFSPath("/a"), after: nil, limit: 100)
        #expect(a.entries.map(\.path.string) == ["/a/b"])
        let b = try await store.getFile(path: try DFSPath("/a/b"))
        #expect(b.info.type == .dir)
        #expect(b.blocks.isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func listingPagesMergeFoldersAndFilesInNameOrder(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/d/b", lengths: [1])
        try await writeFile(store, "/d/d", lengths: [1])
        try await writeFile(store, "/d/a/x", lengths: [1])
        try await writeFile(store, "/d/c/x", lengths: [1])
        try await writeFile(store, "/d/e", lengths: [1])
        let folder = try DFSPath("/d")
        var names: [String] = []
        var after: String?
        var pages = 0
        while true {
            let page = try await store.list(path: folder, after: after, limit: 2)
            pages += 1
            names += page.entries.map(\.path.name)
            #expect(page.entries.count <= 2)
            guard page.more else { break }
            after = page.entries.last?.path.name
        }
        #expect(names == ["a", "b", "c", "d", "e"])
        #expect(pages == 3)
        let first = try await store.list(path: folder, after: nil, limit: 2)
        #expect(first.entries.map(\.type) == [.dir, .file])
    }

    @Test(arguments: StoreKind.allCases) func listingAFileGivesTheFile(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/one", lengths: [5])
        let listing = try await store.list(path: try DFSPath("/one"), after: nil, limit: 10)
        #expect(listing.info.type == .file)
        #expect(listing.entries.map(\.size) == [5])
        await #expect(throws: DFSError.self) { try await store.list(path: try DFSPath("/none"), after: nil, limit: 10) }
    }

    @Test(arguments: StoreKind.allCases) func completeRejectsBlocksThatDoNotAddUp(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/bad"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        let first = try await store.addBlock(fileID: fileID, blockIndex: 0)
        let second = try await store.addBlock(fileID: fileID, blockIndex: 1)
        let otherFile = try await store.createFile(path: try DFSPath("/other"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        let foreign = try await store.addBlock(fileID: otherFile, blockIndex: 0)
        let cases: [(Int, [CommittedBlock], String)] = [
            (100, [CommittedBlock(blockID: first, blockIndex: 0, length: 99, nodes: [node])], "hold 99 bytes"),
            (
                2,
                [
                    CommittedBlock(blockID: first, blockIndex: 0, length: 1, nodes: [node]),
                    CommittedBlock(blockID: second, blockIndex: 2, length: 1, nodes: [node]),
                ], "missing"
            ),
            (1, [CommittedBlock(blockID: foreign, blockIndex: 0, length: 1, nodes: [node])], "does not belong"),
            (1, [CommittedBlock(blockID: first, blockIndex: 0, length: 1, nodes: [])], "no node"),
            (5000, [CommittedBlock(blockID: first, blockIndex: 0, length: 5000, nodes: [node])], "1 to 4096"),
        ]
        for (size, blocks, expected) in cases {
            let error = await #expect(throws: DFSError.self) {
                try await store.completeFile(fileID: fileID, size: size, blocks: blocks, now: 2)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "") should say \(expected)")
        }
        // Still pending and completable after every refusal.
        try await store.completeFile(fileID: fileID, size: 1, blocks: [CommittedBlock(blockID: first, blockIndex: 0, length: 1, nodes: [node])], now: 3)
        #expect(try await store.getFile(path: try DFSPath("/bad")).info.size == 1)
    }

    @Test(arguments: StoreKind.allCases) func emptyFileHasNoBlocks(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await writeFile(store, "/empty", lengths: [])
        let found = try await store.getFile(path: try DFSPath("/empty"))
        #expect(found.info.size == 0)
        #expect(found.blocks.isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func abandonedFileLeavesNothing(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/gone"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        _ = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await store.abandonFile(fileID: fileID, now: Date().timeIntervalSince1970)
        await #expect(throws: DFSError.self) { _ = try await store.addBlock(fileID: fileID, blockIndex: 1) }
        await #expect(throws: DFSError.self) { try await store.getFile(path: try DFSPath("/gone")) }
    }

    /// A node reports a block of an upload that is then abandoned (or whose lease runs out):
    /// the copy is deleted with the file, not kept until the node's next full block report.
    @Test(arguments: StoreKind.allCases) func copiesOfAnAbandonedUploadAreDeleted(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/gone"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        let blockID = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await store.applyBlockChanges(
            nodeID: node, added: [BlockSummary(blockID: blockID, length: 10, checksum: 1)], deleted: [], corrupt: [], now: 2, orphanGrace: 600)
        try await store.abandonFile(fileID: fileID, now: Date().timeIntervalSince1970)
        #expect(try await store.takeGarbage(nodeID: node, limit: 10) == [blockID])
        // The same for a lease that ran out.
        let expiring = try await store.createFile(path: try DFSPath("/late"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
        let late = try await store.addBlock(fileID: expiring, blockIndex: 0)
        try await store.applyBlockChanges(
            nodeID: other, added: [BlockSummary(blockID: late, length: 10, checksum: 1)], deleted: [], corrupt: [], now: 2, orphanGrace: 600)
        #expect(try await store.expirePendingFiles(createdBefore: 5, now: 5) == 1)
        #expect(try await store.takeGarbage(nodeID: other, limit: 10, now: 6) == [late])
    }

    /// A copy reported while the file was pending, on a node the writer does not name when it
    /// completes the file (its pipeline failed there), is not kept as a replica.
    @Test(arguments: StoreKind.allCases) func completionKeepsOnlyTheCopiesItsWriterNames(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        let fileID = try await store.createFile(path: try DFSPath("/f"), replication: 2, blockBytes: 4096, overwrite: true, now: 1)
        let blockID = try await store.addBlock(fileID: fileID, blockIndex: 0)
        for reporter in [node, other] {
            try await store.applyBlockChanges(
                nodeID: reporter, added: [BlockSummary(blockID: blockID, length: 10, checksum: 7)], deleted: [], corrupt: [], now: 2, orphanGrace: 600)
        }
        try await store.completeFile(
            fileID: fileID, size: 10, blocks: [CommittedBlock(blockID: blockID, blockIndex: 0, length: 10, checksum: 7, nodes: [node])], now: 3)
        #expect(try await store.getFile(path: try DFSPath("/f")).blocks[0].replicas.map(\.nodeID) == [node])
        #expect(try await store.takeGarbage(nodeID: other, limit: 10, now: 4) == [blockID])
        #expect(try await store.takeGarbage(nodeID: node, limit: 10, now: 4).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func heartbeatOfUnknownNodeAsksItToRegister(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        #expect(try await store.heartbeat(NodeID("stranger"), capacityBytes: 1, usedBytes: 0, blockCount: 0, now: 5) == false)
        #expect(try await store.heartbeat(node, capacityBytes: 2000, usedBytes: 10, blockCount: 1, now: 5) == true)
        let record = try #require(try await store.nodes().first { $0.id == node })
        #expect(record.capacityBytes == 2000)
        #expect(record.lastHeartbeat == 5)
    }

    @Test(arguments: StoreKind.allCases) func reRegistrationUpdatesTheAddress(kind: StoreKind) async throws {
        let store = try await makeStore(kind)
        try await store.registerNode(node, address: Endpoint(host: "10.0.0.9", port: 9), capacityBytes: 1, usedBytes: 0, blockCount: 0, now: 2)
        let records = try await store.nodes()
        #expect(records.count == 2)
        #expect(records.first { $0.id == node }?.address == Endpoint(host: "10.0.0.9", port: 9))
    }
}

@Suite struct MetaStoreFileTests {
    func withFolder(_ body: (String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-meta-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await body(folder)
    }

    @Test func schemaIsCreatedOnceAndDataSurvivesReopening() async throws {
        try await withFolder { folder in
            let path = folder + "/meta.db"
            do {
                let store = try MetaStore(path: path)
                #expect(try await store.schemaVersion == MetaSchema.version)
                let fileID = try await store.createFile(path: try DFSPath("/keep"), replication: 2, blockBytes: 4096, overwrite: true, now: 1)
                try await store.completeFile(fileID: fileID, size: 0, blocks: [], now: 1)
            }
            let reopened = try MetaStore(path: path)
            #expect(try await reopened.schemaVersion == MetaSchema.version)
            #expect(try await reopened.getFile(path: try DFSPath("/keep")).info.replication == 2)
        }
    }

    /// A database written before files had a CRC32C (schema 2) opens, is brought to the
    /// current schema, and keeps its files: an old file shows no CRC32C (and keeps its
    /// SHA-256), a file completed afterwards gets one.
    @Test func schemaTwoDatabaseIsMigratedAndKeepsItsFiles() async throws {
        try await withFolder { folder in
            let path = folder + "/v2.db"
            let digest = String(repeating: "ab", count: 32)
            do {
                let database = try SQLiteDatabase(path: path)
                for step in 0..<2 { try database.execute(MetaSchema.migrations[step]) }
                try database.execute("PRAGMA user_version = 2")
                try database.run(
                    """
                    INSERT INTO files(path, parent, name, size, mtime, replication, block_bytes, complete, created, sha256)
                    VALUES('/old', '/', 'old', 0, 5, 1, 4096, 1, 5, ?)
                    """, [.text(digest)])
            }
            let store = try MetaStore(path: path)
            #expect(try await store.schemaVersion == MetaSchema.version)
            let old = try await store.getFile(path: try DFSPath("/old")).info
            #expect(old.crc32c == nil)
            #expect(old.sha256 == digest)
            let fileID = try await store.createFile(path: try DFSPath("/new"), replication: 1, blockBytes: 4096, overwrite: true, now: 6)
            #expect(try await store.completeFile(fileID: fileID, size: 0, blocks: [], now: 7).crc32c == 0)
        }
    }

    /// Version 3 condemned replicas on a client's word and queued them for deletion. After
    /// the migration such a replica is suspect instead: listed for readers again, nothing
    /// queued, and its node asked at once to re-verify it.
    @Test func schemaThreeDatabaseIsMigratedAndItsCondemnedReplicasGetASecondLook() async throws {
        try await withFolder { folder in
            let path = folder + "/v3.db"
            do {
                let database = try SQLiteDatabase(path: path)
                for step in 0..<3 { try database.execute(MetaSchema.migrations[step]) }
                try database.execute("PRAGMA user_version = 3")
                try database.execute(
                    """
                    INSERT INTO nodes(id, host, port, capacity, used, block_count, last_heartbeat) VALUES('node-a', '127.0.0.1', 7001, 1000, 0, 1, 1);
                    INSERT INTO nodes(id, host, port, capacity, used, block_count, last_heartbeat) VALUES('node-b', '127.0.0.1', 7002, 1000, 0, 1, 1);
                    INSERT INTO files(id, path, parent, name, size, mtime, replication, block_bytes, complete, created, crc32c)
                    VALUES(1, '/old', '/', 'old', 10, 5, 2, 4096, 1, 5, 99);
                    INSERT INTO blocks(id, file_id, block_index, length, checksum) VALUES(7, 1, 0, 10, 99);
                    INSERT INTO replicas(block_id, node_id, corrupt) VALUES(7, 'node-a', 1);
                    INSERT INTO replicas(block_id, node_id, corrupt) VALUES(7, 'node-b', 0);
                    INSERT INTO garbage(block_id, node_id, since) VALUES(7, 'node-a', 5);
                    INSERT INTO garbage(block_id, node_id, since) VALUES(8, 'node-b', 5);
                    """)
            }
            let store = try MetaStore(path: path)
            #expect(try await store.schemaVersion == MetaSchema.version)
            let old = try await store.getFile(path: try DFSPath("/old"))
            #expect(old.info.size == 10 && old.info.crc32c == 99)
            #expect(old.blocks.first?.replicas.map(\.nodeID) == [NodeID("node-b"), NodeID("node-a")])
            #expect(try await store.takeGarbage(nodeID: NodeID("node-a"), limit: 10).isEmpty)
            #expect(try await store.takeGarbage(nodeID: NodeID("node-b"), limit: 10) == [BlockID(8)], "other garbage stays")
            #expect(try await store.takeVerifications(nodeID: NodeID("node-a"), limit: 10, now: 1, retryAfter: 30) == [BlockID(7)])
        }
    }

    @Test func newerSchemaIsRefused() async throws {
        try await withFolder { folder in
            let path = folder + "/future.db"
            do {
                let database = try SQLiteDatabase(path: path)
                try database.execute("PRAGMA user_version = 99")
            }
            let error = #expect(throws: DFSError.self) { _ = try MetaStore(path: path) }
            #expect(error?.message.contains("99") == true)
        }
    }

    @Test func fileThatIsNotADatabaseIsAClearError() async throws {
        try await withFolder { folder in
            let path = folder + "/notes.txt"
            try Data(String(repeating: "not a database at all\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: DFSError.self) { _ = try MetaStore(path: path) }
            #expect(error?.message.contains("not a dfs database") == true)
        }
    }

    @Test func missingFolderIsAClearError() async throws {
        let error = #expect(throws: DFSError.self) { _ = try MetaStore(path: "/nonexistent-folder-dfs/meta.db") }
        #expect(error?.message.contains("cannot open database") == true)
    }
}
