import DFSClient
import DFSCore
import DFSData
import DFSProcess
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Replication, pipeline recovery, checksums and read failover on a real cluster.
@Suite struct ReplicationTests {
    static let mebibyte = 1024 * 1024

    static func read(_ path: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Flips one byte in the middle of a block file, as a bad sector would.
    static func corrupt(_ server: DataServer, _ blockID: BlockID, at offset: Int) throws {
        let path = server.store.root.appendingPathComponent("blocks")
            .appendingPathComponent(String(format: "%02x", Int(blockID.rawValue & 0xff)))
            .appendingPathComponent(blockID.fileName).path
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
    }

    @Test func replicationThreePutsEveryBlockOnAllThreeNodes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 5 * Self.mebibyte + 17, seed: 31)
        try await withCluster { cluster in
            let path = try DFSPath("/r3")
            let info = try await cluster.client.upload(
                localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            #expect(info.replication == 3)
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.count == 6)
            for block in stat.blocks {
                #expect(Set(block.replicas.map(\.nodeID)).count == 3)
            }
            try await cluster.checkReplicasExist(path)
            for server in cluster.dataServers.compactMap({ $0 }) {
                #expect(server.store.blockCount == 6)
            }
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
        }
    }

    @Test func fewerNodesThanReplicationStillStoresTheFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 300_000, seed: 32)
        try await withCluster(dataNodes: 2) { cluster in
            let path = try DFSPath("/under")
            let info = try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(replication: 3))
            #expect(info.replication == 3)
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.allSatisfy { $0.replicas.count == 2 })
        }
    }

    /// The whole-file checksums the cluster records are those of the local file: the CRC32C
    /// (combined from 19 blocks' own) always, the SHA-256 (as sha256sum prints it) when asked.
    @Test func wholeFileChecksumsMatchTheLocalFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("f", count: 1_234_567, seed: 33)
        try await withCluster { cluster in
            let info = try await cluster.client.upload(
                localPath: local.path("f"), to: try DFSPath("/h"), options: UploadOptions(blockBytes: 65536, sha256: true))
            let output = try await Subprocess.run("/usr/bin/sha256sum", [local.path("f")]).standardOutput
            #expect(info.sha256 != nil)
            #expect(output.hasPrefix(info.sha256 ?? "missing"))
            #expect(info.crc32c == CRC32C.checksum(bytes))
            #expect(try await cluster.client.stat(try DFSPath("/h")).blocks.count == 19)

            let plain = try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/plain"), options: UploadOptions(blockBytes: 65536))
            #expect(plain.sha256 == nil)
            #expect(plain.crc32c == CRC32C.checksum(bytes))
        }
    }

    /// A node of the pipeline dies in the middle of a block: the client writes that block
    /// again to other nodes, and every block ends up on three live nodes.
    @Test func nodeDyingMidUploadIsReplacedAndTheUploadSucceeds() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 12 * Self.mebibyte, seed: 34)
        try await withCluster(dataNodes: 3) { cluster in
            // A fourth node that dies after receiving 2.5 MiB, in the middle of its third block.
            let doomed = try await cluster.addDataNode { $0.faults.dieAfterReceivingBytes = 5 * Self.mebibyte / 2 }
            try await cluster.waitForLiveNodes(4)
            let doomedID = doomed.store.nodeID
            let path = try DFSPath("/survivor")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.count == 12)
            // Blocks the node stored whole before dying keep it as a replica (repair replaces
            // it later); the block it died in, and every later one, went to three live nodes.
            let onDoomed = stat.blocks.filter { $0.replicas.contains { $0.nodeID == doomedID } }
            #expect(onDoomed.count <= 2, "the node died within its third block")
            for block in stat.blocks {
                #expect(block.replicas.count == 3, "block \(block.blockIndex) is on \(block.replicas.map(\.nodeID))")
            }
            // It may also hold blocks it stored but could not acknowledge before dying: those
            // were written again elsewhere, and their copies here belong to no file.
            #expect(doomed.store.blockCount >= onDoomed.count)
            try await cluster.checkReplicasExist(path)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
        }
    }

    @Test func downloadWorksWithOneNodeDead() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 3 * Self.mebibyte, seed: 35)
        try await withCluster { cluster in
            let path = try DFSPath("/one-dead")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte))
            await cluster.stopDataNode(0)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
        }
    }

    /// Bytes flipped in the replica read first: the right bytes still come back, read from
    /// another replica; the bad one is reported, no longer handed out first, confirmed by its
    /// node, and replaced. With three nodes and three replicas the only place for the new copy
    /// is the bad one's node, so the bad copy goes first there (two intact ones remain).
    @Test func corruptReplicaIsSkippedAndReported() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 3 * Self.mebibyte, seed: 36)
        try await withCluster(configure: { options in
            options.deadAfter = .seconds(5)
            options.repairInterval = .milliseconds(100)
        }) { cluster in
            let path = try DFSPath("/corrupt")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte))
            let before = try await cluster.client.stat(path)
            var corrupted: [BlockID: NodeID] = [:]
            for block in before.blocks {
                let first = try #require(block.replicas.first)
                try Self.corrupt(try #require(cluster.dataServer(first.nodeID)), block.blockID, at: block.length / 2)
                corrupted[block.blockID] = first.nodeID
            }
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
            let after = try await cluster.client.stat(path)
            for block in after.blocks {
                // Suspect (listed last) until its node confirms it bad, then not listed.
                #expect(block.replicas.first?.nodeID != corrupted[block.blockID]!)
            }
            try await eventually(timeout: .seconds(40), "every bad copy replaced by an intact one") {
                try await cluster.client.stat(path).blocks.allSatisfy { block in
                    block.replicas.count == 3
                        && cluster.dataServer(corrupted[block.blockID]!).map { ReplicaReportTests.holdsIntactCopy($0, block) } == true
                }
            }
            #expect(try await cluster.client.fsck().totals.corruptReplicas == 0)
        }
    }

    @Test func everyReplicaCorruptIsAClearErrorAndLeavesNoFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 200_000, seed: 37)
        try await withCluster { cluster in
            let path = try DFSPath("/docs/ruined")
            try await cluster.client.upload(localPath: local.path("f"), to: path)
            let block = try #require(try await cluster.client.stat(path).blocks.first)
            for replica in block.replicas {
                try Self.corrupt(try #require(cluster.dataServer(replica.nodeID)), block.blockID, at: 100)
            }
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.download(path, to: local.path("out"))
            }
            #expect(error?.message.contains("/docs/ruined") == true)
            #expect(error?.message.contains("block 0") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: local.url.path) == ["f"])
        }
    }

    /// The client dies (SIGKILL) in the middle of replacing a file: the new version never
    /// becomes visible, the old one stays readable, and the lease later drops the leftover.
    @Test func uploadKilledMidwayLeavesTheOldVersionReadable() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let old = try local.writeRandomFile("old", count: 100_000, seed: 38)
        try local.writeRandomFile("new", count: 256 * Self.mebibyte, seed: 39)
        try await withCluster(configure: { $0.pendingLease = .seconds(10) }) { cluster in
            let path = try DFSPath("/doc")
            try await cluster.client.upload(localPath: local.path("old"), to: path)
            let blocksBefore = cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +)
            let process = try SpawnedProcess(
                DFSBinary.path, ["cp", "--block-size", "1MiB", local.path("new"), "127.0.0.1:\(cluster.metaEndpoint.port):/doc"])
            // Kill it once some of its blocks are stored, long before 256 MiB are.
            try await eventually("the new upload stored some blocks") {
                cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +) >= blocksBefore + 6
            }
            kill(process.processIdentifier, SIGKILL)
            try await Subprocess.onOwnThread { process.waitUntilExit() }
            #expect(process.terminationReason == .uncaughtSignal)
            let stat = try await cluster.client.stat(path)
            #expect(stat.info.size == 100_000)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == old)
            try await eventually(timeout: .seconds(30), "the lease dropped the abandoned upload") {
                try await cluster.meta.service.pendingFileCount() == 0
            }
        }
    }
}
