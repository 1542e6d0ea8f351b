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
                #expect(Self.blockFilesOnEveryNode(cluster, blocks), "a reported replica was deleted")
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
}
