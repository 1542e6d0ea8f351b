import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

/// A report about a bad replica is a hint: the replica's own node re-reads it, and only a
/// replica its node confirms bad is corrupt; a corrupt replica is deleted only once the block
/// has its good replicas elsewhere. Short timings, as in `HealingTests`; one test at a time.
@Suite(.serialized) struct ReplicaReportTests {
    static let mebibyte = 1024 * 1024

    /// Sends `reportBadReplica` as a client would, straight to the meta server.
    static func report(_ blockID: BlockID, on nodeID: NodeID, to cluster: TestCluster) async throws {
        let connection = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(5))
        defer { Task { await connection.close() } }
        _ = try await connection.request(
            ReportBadReplica(blockID: blockID, nodeID: nodeID, reason: "checksum mismatch (a client with bad memory)"),
            expecting: OK.self, timeout: .seconds(20))
    }

    /// Passes of the repair loop from now until `count` more have run: a measure of time in
    /// the decisions that could delete a replica, rather than a sleep.
    static func waitForRepairPasses(_ count: Int, in cluster: TestCluster) async throws {
        let start = await cluster.meta.service.repairPasses
        try await eventually(timeout: .seconds(20), "\(count) repair passes") {
            await cluster.meta.service.repairPasses >= start + count
        }
    }

    /// Every running node that `stat` lists for each block still has the block's file.
    static func blockFilesOnEveryNode(_ cluster: TestCluster, _ blocks: [BlockLocation]) -> Bool {
        blocks.allSatisfy { block in
            block.replicas.allSatisfy { replica in
                cluster.dataServer(replica.nodeID)?.store.length(of: block.blockID) == block.length
            }
        }
    }

    /// The fault this pins: two reports about a file with two healthy replicas deleted both
    /// block files within seconds, and the file was gone. Now every replica of every block is
    /// reported, several times: the files stay, the file reads back, and each node clears the
    /// suspicion by re-reading its copy.
    @Test func reportsAboutEveryReplicaOfAHealthyFileDeleteNothing() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 3 * Self.mebibyte + 5, seed: 131)
        try await withCluster(dataNodes: 3, configure: HealingTests.fast) { cluster in
            let path = try DFSPath("/reported")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 2))
            try await eventually("healthy after the upload") { try await cluster.client.fsck().healthy }
            try await eventually("the repair loop is running") { await cluster.meta.service.isRepairing }
            let blocks = try await cluster.client.stat(path).blocks
            #expect(blocks.count == 4 && blocks.allSatisfy { $0.replicas.count == 2 })
            for _ in 0..<3 {
                for block in blocks {
                    for replica in block.replicas { try await Self.report(block.blockID, on: replica.nodeID, to: cluster) }
                }
            }
            // The old code deleted the reported files within a heartbeat or two (100 ms each).
            for _ in 0..<10 {
                try await Self.waitForRepairPasses(3, in: cluster)
                let kept = Self.blockFilesOnEveryNode(cluster, blocks)
                #expect(kept, "a reported replica was deleted")
            }
            let listed = try await cluster.client.stat(path).blocks
            #expect(listed.map { Set($0.replicas.map(\.nodeID)) } == blocks.map { Set($0.replicas.map(\.nodeID)) })
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try HealingTests.read(local.path("out")) == original)
            try await eventually("every suspicion cleared by its node, and healthy") {
                let report = try await cluster.client.fsck()
                return report.healthy && report.totals.suspectReplicas == 0 && report.totals.corruptReplicas == 0
            }
            #expect(Self.blockFilesOnEveryNode(cluster, blocks))
            #expect(cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +) == 8)
        }
    }

    /// The path of a block's file on a node (blocks of a plain upload are not in packs).
    static func blockFile(_ server: DataServer, _ blockID: BlockID) -> String {
        server.store.root.appendingPathComponent("blocks")
            .appendingPathComponent(String(format: "%02x", Int(blockID.rawValue & 0xff)))
            .appendingPathComponent(blockID.fileName).path
    }

    /// True when `server` holds an intact copy of `block` on disk.
    static func holdsIntactCopy(_ server: DataServer, _ block: BlockLocation) -> Bool {
        FileManager.default.contents(atPath: blockFile(server, block.blockID)).map { CRC32C.checksum([UInt8]($0)) == block.checksum } ?? false
    }

    /// A replica whose bytes really rotted is still found (the reader reports it, its node
    /// confirms it), and it is deleted only after a new copy made the block whole elsewhere.
    @Test func genuinelyCorruptReplicaIsReplacedBeforeItIsDeleted() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 2 * Self.mebibyte + 7, seed: 132)
        try await withCluster(dataNodes: 4, configure: HealingTests.fast) { cluster in
            let path = try DFSPath("/rotten")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            try await eventually("healthy after the upload") { try await cluster.client.fsck().healthy }
            try await eventually("the repair loop is running") { await cluster.meta.service.isRepairing }
            let block = try #require(try await cluster.client.stat(path).blocks.first)
            let badNode = try #require(block.replicas.first?.nodeID)
            let bad = try #require(cluster.dataServer(badNode))
            try ReplicationTests.corrupt(bad, block.blockID, at: 5000)
            // The reader tries the bad copy first, fails its check, reports it and reads another.
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try HealingTests.read(local.path("out")) == original)
            var intactElsewhereWhenGone: Int?
            try await eventually(timeout: .seconds(30), "the corrupt copy is replaced and gone") {
                let badCopyGone = !FileManager.default.fileExists(atPath: Self.blockFile(bad, block.blockID)) || Self.holdsIntactCopy(bad, block)
                if badCopyGone, intactElsewhereWhenGone == nil {
                    intactElsewhereWhenGone =
                        cluster.dataServers.compactMap { $0 }
                        .filter { $0.store.nodeID != badNode && Self.holdsIntactCopy($0, block) }.count
                }
                let replicas = try await cluster.client.stat(path).blocks.first?.replicas ?? []
                return badCopyGone && replicas.count == 3
            }
            #expect(intactElsewhereWhenGone == 3, "the corrupt copy went before the block had three intact copies elsewhere")
            // The node reports the deletion in its next heartbeat; then the record goes too.
            try await eventually("healthy, with no corrupt or suspect replica left") {
                let report = try await cluster.client.fsck()
                return report.healthy && report.totals.corruptReplicas == 0 && report.totals.suspectReplicas == 0
            }
            try await cluster.checkReplicasExist(path)
        }
    }

    /// The only copy of a block is damaged: it is confirmed corrupt, fsck says `corrupt` (its
    /// bytes exist) rather than `missing`, and it is never deleted.
    @Test func corruptLastReplicaIsNeverDeleted() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: Self.mebibyte + 3, seed: 133)
        try await withCluster(dataNodes: 2, configure: HealingTests.fast) { cluster in
            let path = try DFSPath("/only")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 1))
            try await eventually("the repair loop is running") { await cluster.meta.service.isRepairing }
            let block = try #require(try await cluster.client.stat(path).blocks.first)
            let holderID = try #require(block.replicas.first?.nodeID)
            let holder = try #require(cluster.dataServer(holderID))
            try ReplicationTests.corrupt(holder, block.blockID, at: 70_000)
            await #expect(throws: DFSError.self) { try await cluster.client.download(path, to: local.path("out")) }
            try await eventually("its node confirms the copy corrupt") {
                try await cluster.client.fsck().totals.corrupt == 1
            }
            try await Self.waitForRepairPasses(20, in: cluster)
            #expect(holder.store.length(of: block.blockID) == block.length)
            #expect(FileManager.default.fileExists(atPath: Self.blockFile(holder, block.blockID)))
            let report = try await cluster.client.fsck()
            #expect(!report.healthy)
            #expect(report.totals.missing == 0 && report.totals.corrupt == 1 && report.totals.corruptReplicas == 1)
            #expect(report.files.first?.problems.map(\.kind) == [.corrupt])
            let cli = try await DFSBinary.run(["fsck", "127.0.0.1:\(cluster.metaEndpoint.port)"])
            #expect(cli.status == 1)
            #expect(cli.standardOutput.contains("block 0 (id \(block.blockID)) corrupt: 0 of 1 replicas, 1 corrupt"))
            #expect(cli.standardOutput.contains("missing: 0, corrupt: 1, corrupt replicas: 1, suspect replicas: 0"))
        }
    }
}
