import DFSClient
import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// A data node below its disk reserve: it refuses new blocks with a clear error, reports no
/// room, and placement passes it by.
@Suite struct FullDiskTests {
    @Test func fullNodeIsSkippedAndRefusesBlocks() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 3 * 65536 + 1, seed: 81)
        try await withCluster(dataNodes: 3) { cluster in
            // A fourth node whose reserve is more than any disk has: it is full from the start.
            let full = try await cluster.addDataNode { $0.reserveBytes = Int.max / 2 }
            try await cluster.waitForLiveNodes(4)
            let status = try await cluster.client.status()
            let reported = try #require(status.nodes.first { $0.id == full.store.nodeID })
            #expect(reported.capacity == reported.used, "a full node offers no room")

            let path = try DFSPath("/f")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 65536, replication: 3))
            let blocks = try await cluster.client.stat(path).blocks
            #expect(blocks.allSatisfy { $0.replicas.count == 3 && !$0.replicas.contains { $0.nodeID == full.store.nodeID } })
            #expect(full.store.blockCount == 0)
            try await cluster.client.download(path, to: local.path("back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == original)

            // Asked directly, it says why.
            let connection = try await Connection.open(to: full.endpoint, role: .client, timeout: .seconds(20))
            defer { Task { await connection.close() } }
            let result = try await connection.requestResult(
                WriteBlock(blockID: BlockID(999_999), length: 10), expecting: WriteBlockOK.self, timeout: .seconds(20))
            guard case .failure(let error) = result else {
                Issue.record("a full node accepted a block")
                return
            }
            #expect(error.code == .unavailable)
            #expect(error.message.contains("is full"))
        }
    }

    /// A node that filled up after the meta server last heard from it: placement picks it,
    /// it refuses the block, and the client's pipeline recovery writes the block elsewhere.
    @Test func uploadMovesOnFromANodeThatTurnsOutFull() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 5 * 65536, seed: 83)
        try await withCluster(dataNodes: 2) { cluster in
            let full = try await cluster.addDataNode { options in
                options.reserveBytes = Int.max / 2
                options.faults.reportedFreeBytes = Int.max / 4
            }
            try await cluster.waitForLiveNodes(3)
            let path = try DFSPath("/moved-on")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 65536, replication: 2))
            let blocks = try await cluster.client.stat(path).blocks
            #expect(blocks.count == 5)
            #expect(blocks.allSatisfy { $0.replicas.count == 2 && !$0.replicas.contains { $0.nodeID == full.store.nodeID } })
            #expect(full.store.blockCount == 0)
            // Nothing half-written left: no file at all under blocks/ (temp files included).
            let blocksFolder = full.store.root.appendingPathComponent("blocks").path
            let leftovers = ((try? FileManager.default.subpathsOfDirectory(atPath: blocksFolder)) ?? []).filter { $0.contains("blk_") }
            #expect(leftovers.isEmpty, "nothing half-written left: \(leftovers)")
            try await cluster.client.download(path, to: local.path("back"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back")))) == original)
        }
    }

    @Test func clusterOfFullNodesSaysSo() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 1000, seed: 82)
        try await withCluster(dataNodes: 2, configureData: { $0.reserveBytes = Int.max / 2 }) { cluster in
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/f"))
            }
            let message = error?.message ?? ""
            #expect(message.contains("no live data node has room"), "\(message)")
            let pending = try await cluster.meta.service.pendingFileCount()
            #expect(pending == 0, "nothing half-written stays recorded")
        }
    }
}
