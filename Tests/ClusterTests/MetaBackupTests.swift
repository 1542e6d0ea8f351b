import DFSClient
import DFSCore
import DFSMeta
import DFSNet
import DFSSystem
import DFSTesting
import Foundation
import Testing

/// `backup`: a copy of a running meta server's database, taken while clients keep working,
/// restored by starting a meta server on it.
@Suite struct MetaBackupTests {
    static let blockBytes = 64 * 1024

    /// Uploads run the whole time. A backup is taken; then the meta server is replaced by
    /// one serving the backup, the data nodes restart and point at it, and every file that
    /// was complete before the backup began reads back byte for byte and is healthy, while
    /// files completed after the backup are simply not there.
    @Test func aBackupTakenDuringUploadsRestoresEveryFileCompletedBeforeIt() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 3) { cluster in
            let completed = Mutex<[(path: DFSPath, bytes: [UInt8])]>([])
            let uploader = Task {
                var index = 0
                while !Task.isCancelled {
                    let name = "up\(index)"
                    let bytes = try local.writeRandomFile(name, count: 1000 + index * 7919 % 200_000, seed: UInt64(4000 + index))
                    let path = try DFSPath("/live/\(name)")
                    do {
                        _ = try await cluster.client.upload(
                            localPath: local.path(name), to: path, options: UploadOptions(blockBytes: Self.blockBytes, replication: 2))
                    } catch  where Task.isCancelled {
                        return
                    }
                    completed.withLock { $0.append((path, bytes)) }
                    index += 1
                }
            }
            defer { uploader.cancel() }
            try await eventually(timeout: .seconds(30), "uploads completed before the backup") { completed.withLock { $0.count } >= 5 }

            let before = completed.withLock { $0 }
            let backup = local.path("meta-backup.db")
            let summary = try await cluster.client.backupMeta(to: backup, overwrite: false)
            let completedWhenDone = completed.withLock { $0.count }
            #expect(summary.files >= before.count)
            #expect(summary.bytes == (try FileSystem.status(backup).size))
            try await eventually(timeout: .seconds(30), "uploads completed after the backup") {
                completed.withLock { $0.count } >= completedWhenDone + 3
            }
            uploader.cancel()
            _ = await uploader.result
            let after = completed.withLock { Array($0[completedWhenDone...]) }
            #expect(
                !FileSystem.exists(MetaStore.backupPath(forDatabase: cluster.folder.appendingPathComponent("meta.db").path)),
                "the server's copy is removed once sent")

            // The restore drill: stop the meta server, start one on the backup, restart the nodes.
            await cluster.stopMeta()
            try await cluster.startMeta(databasePath: backup)
            for index in 0..<3 {
                await cluster.stopDataNode(index)
                try await cluster.addDataNode(index: index)
            }
            try await cluster.waitForLiveNodes(3)

            for (number, file) in before.enumerated() {
                let target = local.path("back\(number)")
                _ = try await cluster.client.download(file.path, to: target, verify: true)
                #expect(try FileSystem.contents(of: target) == file.bytes, "\(file.path)")
            }
            for file in before {
                try await eventually(timeout: .seconds(30), "\(file.path) is healthy") {
                    try await cluster.client.fsck(file.path).healthy
                }
            }
            for file in after {
                await #expect(throws: DFSError.self, "\(file.path) was completed after the backup") {
                    try await cluster.client.stat(file.path)
                }
            }
        }
    }

    /// A client that goes away in the middle of the stream: the server notices, removes its
    /// copy and frees the backup's slot, and goes on serving. While the first backup is under
    /// way, a second one is refused as busy.
    @Test func aClientThatDisconnectsMidStreamLeavesNoCopyAndASecondBackupIsRefusedMeanwhile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        // A database far larger than the sockets' buffers (a few MiB each way), so the server
        // is still sending when the client goes.
        let database = local.path("meta.db")
        try await Self.fillDatabase(database, files: 120_000)
        let databaseBytes = try FileSystem.status(database).size + ((try? FileSystem.status(database + "-wal").size) ?? 0)
        try #require(databaseBytes > 24 * 1024 * 1024, "the database has \(databaseBytes) bytes")

        try await withCluster(dataNodes: 0, configure: { $0.databasePath = database }) { cluster in
            let copy = MetaStore.backupPath(forDatabase: database)
            let first = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(10))
            try await first.send(BackupRequest(), timeout: .seconds(10))
            let (summary, _) = try await first.readReply(BackupOK.self, timeout: .seconds(60))
            #expect(summary.files == 120_000)
            let (_, frame) = try await first.readReply(BackupData.self, timeout: .seconds(10))
            #expect(frame.payload.count == Limits.backupFrameBytes)
            #expect(FileSystem.exists(copy), "the copy is there while it is sent")

            let second = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(10))
            let refused = try await second.requestResult(BackupRequest(), expecting: BackupOK.self, timeout: .seconds(10))
            #expect(throws: DFSError.self) { try refused.get() }
            if case .failure(let error) = refused {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("under way"))
            }
            await second.close()

            await first.close()
            try await eventually(timeout: .seconds(30), "the copy is removed") { !FileSystem.exists(copy) }
            _ = try await cluster.client.status()
            // The slot is free again: a whole backup goes through.
            let again = try await cluster.client.backupMeta(to: local.path("again.db"), overwrite: false)
            #expect(again.files == 120_000)
            #expect(!FileSystem.exists(copy))
        }
    }

    /// A database of `files` one-block files, made through the store as the benchmark does.
    static func fillDatabase(_ path: String, files: Int) async throws {
        let store = try MetaStore(path: path)
        let node = NodeID("bulk-node")
        try await store.registerNode(
            node, address: Endpoint(host: "127.0.0.1", port: 9), capacityBytes: 1 << 40, usedBytes: 0, blockCount: 0, now: 1)
        var made = 0
        while made < files {
            let count = min(20_000, files - made)
            let batch = try (made..<(made + count)).map { index in
                MetaStore.ImportedFile(
                    path: try DFSPath("/bulk/folder-\(index / 1000)/a-rather-long-file-name-\(index)"), size: 1000, checksum: 1, nodes: [node])
            }
            try await store.importFiles(batch, now: 2)
            made += count
        }
        try await store.waitUntilDurable()
    }

    /// With a cluster secret the copy travels in TLS records (read into memory and
    /// encrypted, not sent with sendfile): a database of several frames arrives whole.
    @Test func aBackupOverTLSArrivesWhole() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.path("tree")
        try FileSystem.makeFolders(tree)
        for index in 0..<6000 {
            try Data("file \(index)\n".utf8).write(to: URL(fileURLWithPath: tree + "/f\(index)"))
        }
        let secret = try ClusterSecret("the backup over TLS test's secret")
        try await withCluster(
            dataNodes: 1,
            configure: {
                $0.secret = secret
                $0.defaultReplication = 1
            }
        ) { cluster in
            _ = try await cluster.client.uploadTree(localFolder: tree, to: try DFSPath("/tree"), options: UploadOptions(replication: 1))
            let backup = local.path("meta-backup.db")
            let summary = try await cluster.client.backupMeta(to: backup, overwrite: false)
            #expect(summary.files == 6000)
            // More than one data frame of the stream.
            #expect(summary.bytes > Limits.backupFrameBytes)
            let restored = try MetaStore(path: backup)
            for index in [0, 2999, 5999] {
                let size = try await restored.getFile(path: try DFSPath("/tree/f\(index)")).info.size
                #expect(size == "file \(index)\n".utf8.count)
            }
        }
    }
}
