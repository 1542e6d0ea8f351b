import DFSCore
import DFSSystem
import Foundation
import Testing

@testable import DFSMeta

/// `MetaStore.backUp`: a copy made step by step while the store goes on taking changes.
@Suite struct BackupStoreTests {
    /// A writer keeps completing files through the store while a backup copies a database
    /// of many pages a few pages per step. The writer's changes go on between the steps, and
    /// the copy is a valid, self-contained database holding every file completed before the
    /// backup began.
    @Test func backupWhileFilesAreCreatedHoldsEveryFileCommittedBeforeIt() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-backup-\(UUID().uuidString.prefix(8))").path
        try FileSystem.makeFolders(folder)
        defer { try? FileSystem.removeTree(folder) }
        let node = NodeID("node-a")
        let store = try MetaStore(path: folder + "/meta.db")
        try await store.registerNode(
            node, address: Endpoint(host: "127.0.0.1", port: 7001), capacityBytes: 1 << 40, usedBytes: 0, blockCount: 0, now: 1)
        // Enough rows for a few hundred steps of 16 pages.
        for batch in 0..<4 {
            let files = try (0..<5000).map { index in
                MetaStore.ImportedFile(path: try DFSPath("/seed/d\(batch)/file-\(index)"), size: 100, checksum: 7, nodes: [node])
            }
            try await store.importFiles(files, now: 2)
        }

        let committed = Mutex<[String]>([])
        let writer = Task {
            var index = 0
            while !Task.isCancelled {
                let path = "/live/file-\(index)"
                try await store.writeOneBlockFile(path, length: 10, on: node)
                committed.withLock { $0.append(path) }
                index += 1
            }
        }
        defer { writer.cancel() }
        try await eventually("the writer completed some files") { committed.withLock { $0.count } >= 20 }

        let before = committed.withLock { $0 }
        let copy = folder + "/copy.db"
        // After its second step the backup waits for the writer to complete three more
        // files: they can only be completed if the steps leave the store's queue free.
        let steps = Mutex(0)
        try await store.backUp(to: copy, pagesPerStep: 16) { step in
            steps.withLock { $0 = step }
            guard step == 2 else { return }
            try await eventually("files completed between the backup's steps") {
                committed.withLock { $0.count } >= before.count + 3
            }
        }
        let during = committed.withLock { $0.count } - before.count
        writer.cancel()
        _ = await writer.result
        #expect(steps.withLock { $0 } > 2, "the backup took too few steps to test writes between them")
        #expect(during >= 3)

        let summary = try MetaStore.checkBackup(at: copy)
        #expect(summary.files >= 20_000 + before.count)
        #expect(summary.schemaVersion == (try await store.schemaVersion))
        #expect(summary.bytes == (try FileSystem.status(copy).size))
        #expect(summary.crc32c == CRC32C.checksum(try FileSystem.contents(of: copy)))
        // A rollback journal, not WAL (header bytes 18 and 19 are 1), and no log beside it.
        let header = try FileSystem.contents(of: copy).prefix(20)
        #expect(Array(header.suffix(2)) == [1, 1])
        #expect(!FileSystem.exists(copy + "-wal"))

        let restored = try MetaStore(path: copy)
        for path in before {
            let found = try await restored.getFile(path: try DFSPath(path))
            #expect(found.info.size == 10, "\(path)")
        }
        let seeded = try await restored.getFile(path: try DFSPath("/seed/d3/file-4999"))
        #expect(seeded.info.size == 100)
    }

    /// The copy's place: beside a file database under one name, in the temp folder for one
    /// in memory; cleaning removes SQLite's journals with it.
    @Test func backupPathIsBesideTheDatabase() throws {
        #expect(MetaStore.backupPath(forDatabase: "/srv/dfs/meta.db") == "/srv/dfs/meta.db.backup-in-progress")
        #expect(MetaStore.backupPath(forDatabase: ":memory:").hasPrefix(FileManager.default.temporaryDirectory.path))
    }
}

/// Polls `condition` until it holds, failing after `timeout`.
private func eventually(timeout: Duration = .seconds(10), _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(try await condition()) {
        guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "timed out waiting for: \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
