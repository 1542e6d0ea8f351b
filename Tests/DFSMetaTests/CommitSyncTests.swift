import DFSCore
import Foundation
import Testing

@testable import DFSMeta

@Suite struct CommitSyncTests {
    /// Writers that commit at the same time share disk flushes, each hears back only after a
    /// flush that covers its commit, and everything is there after the database is reopened.
    @Test func concurrentWritersShareFlushesAndEveryCommitSurvivesReopen() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-sync-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/meta.db"
        let count = 200
        do {
            let store = try MetaStore(path: path)
            let sync = try #require(store.sync)
            try await store.waitUntilDurable()
            let before = sync.progress
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let created = try await store.createFileWithFirstBlock(
                            path: try DFSPath("/d/f\(index)"), replication: 1, blockBytes: 4096, overwrite: true, now: 1)
                        try await store.completeFile(
                            fileID: created.fileID, size: 10,
                            blocks: [CommittedBlock(blockID: created.blockID, blockIndex: 0, length: 10, nodes: [NodeID("n1")])], now: 2)
                        try await store.waitUntilDurable()
                        // Every commit this writer made is covered by a finished flush.
                        let now = sync.progress
                        #expect(now.synced >= before.committed + 2)
                    }
                }
                try await group.waitForAll()
            }
            let after = sync.progress
            #expect(after.committed - before.committed == UInt64(2 * count))
            #expect(after.synced == after.committed)
            #expect(after.passes - before.passes < 2 * count, "every commit had a flush of its own")
        }
        let reopened = try MetaStore(path: path)
        let listed = try await reopened.list(path: try DFSPath("/d"), after: nil, limit: 1000)
        #expect(listed.entries.count == count)
    }

    /// A reply that reads, with nothing committed since the last flush, does not wait for one.
    @Test func nothingPendingMeansNoFlush() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-sync-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try MetaStore(path: folder + "/meta.db")
        let sync = try #require(store.sync)
        try await store.waitUntilDurable()
        let passes = sync.progress.passes
        _ = try await store.list(path: .root, after: nil, limit: 10)
        try await store.waitUntilDurable()
        #expect(sync.progress.passes == passes)
    }
}
