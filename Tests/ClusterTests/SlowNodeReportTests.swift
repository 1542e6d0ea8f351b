import DFSClient
import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

/// `reportSlowNode` on a live meta server: the node gets no new blocks and is listed last
/// until a heartbeat after its penalty; a report about a stranger is refused.
@Suite struct SlowNodeReportTests {
    @Test func aReportedNodeIsPassedOverUntilItsHeartbeatAfterThePenalty() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 8 * 65536, seed: 5)
        try await withCluster(dataNodes: 4, configure: { $0.slowNodePenalty = .seconds(2) }) { cluster in
            let client = cluster.client
            let first = try DFSPath("/before")
            try await client.upload(localPath: local.path("f"), to: first, options: UploadOptions(blockBytes: 65536, replication: 3))
            let slow = try #require(try await client.stat(first).blocks.first?.replicas.first?.nodeID)

            let pool = ConnectionPool(role: .client)
            defer { Task { await pool.closeAll() } }
            _ = try await pool.request(ReportSlowNode(nodeID: slow, reason: "test"), to: cluster.metaEndpoint, expecting: OK.self)
            #expect(try await client.status().nodes.first { $0.id == slow }?.slow == true)

            // Listed last wherever it holds a replica; no new block goes to it.
            for block in try await client.stat(first).blocks where block.replicas.contains(where: { $0.nodeID == slow }) {
                #expect(block.replicas.last?.nodeID == slow)
            }
            let second = try DFSPath("/during")
            try await client.upload(localPath: local.path("f"), to: second, options: UploadOptions(blockBytes: 65536, replication: 3))
            let placed = try await client.stat(second).blocks
            #expect(placed.allSatisfy { $0.replicas.count == 3 && !$0.replicas.contains { $0.nodeID == slow } })

            // Its heartbeats go on (it was never hung): the first one after the penalty ends it.
            try await eventually(timeout: .seconds(10), "the mark ends") {
                try await client.status().nodes.first { $0.id == slow }?.slow == nil
            }

            // Marks are kept only for registered nodes, so they never outnumber them.
            do {
                _ = try await pool.request(ReportSlowNode(nodeID: NodeID("no-such-node"), reason: "test"), to: cluster.metaEndpoint, expecting: OK.self)
                Issue.record("a report about an unknown node was accepted")
            } catch let error as DFSError {
                #expect(error.code == .notFound)
            }
        }
    }
}
