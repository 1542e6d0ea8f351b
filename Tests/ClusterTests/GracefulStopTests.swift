import DFSClient
import DFSCore
import DFSMeta
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Planned stops: a node that says it is leaving causes no copying while it is away, and
/// servers stopped with SIGTERM exit 0 after finishing what they were doing.
@Suite(.serialized) struct GracefulStopTests {
    static func fast(_ options: inout MetaServer.Options) {
        options.heartbeatInterval = .milliseconds(100)
        options.deadAfter = .seconds(3)
        options.repairInterval = .milliseconds(100)
    }

    @Test func plannedLeaveCausesNoCopyingAndTheNodeComesBack() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 4 * 65536, seed: 91)
        try await withCluster(dataNodes: 3, configure: Self.fast) { cluster in
            let path = try DFSPath("/planned")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 65536, replication: 2))
            // Every block on its two nodes first (a loaded machine may have made the upload
            // leave one short, which repair then fixes: that copy is not the one we look for).
            try await eventually(timeout: .seconds(20), "repair running and every block fully replicated") {
                guard await cluster.meta.service.isRepairing, try await cluster.client.fsck().healthy else { return false }
                return cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +) == 8
            }
            let holder = try #require(try await cluster.client.stat(path).blocks.first?.replicas.first?.nodeID)
            let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == holder })
            let blocksBefore = cluster.dataServers.compactMap { $0?.store.blockCount }.reduce(0, +)
            await cluster.dataServers[index]!.leave(grace: .seconds(1))
            let node = try #require(try await cluster.client.status().nodes.first { $0.id == holder })
            #expect(!node.alive && node.leaving == true)
            // Longer than dead-after: a crashed node would be dead by now and its blocks copied.
            let passes = await cluster.meta.service.repairPasses
            let leftAt = ContinuousClock.now
            try await eventually("ten repair passes after the node would count as dead") {
                await cluster.meta.service.repairPasses >= passes + 10 && ContinuousClock.now - leftAt > .seconds(4)
            }
            let others = cluster.dataServers.enumerated().filter { $0.offset != index }.compactMap { $0.element?.store.blockCount }.reduce(0, +)
            #expect(others + cluster.dataServers[index]!.store.blockCount == blocksBefore, "no block was copied")
            #expect(await cluster.meta.service.repairLoad().isEmpty)
            // Back on its folder: alive again, not leaving, and nothing to repair.
            try await cluster.addDataNode(index: index)
            try await eventually("the node is back") {
                try await cluster.client.status().nodes.contains { $0.id == holder && $0.alive && $0.leaving == nil }
            }
            #expect(try await cluster.client.fsck().healthy)
        }
    }

    @Test func nodeAwayLongerThanItsLeaveGraceIsRepaired() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 2 * 65536, seed: 92)
        try await withCluster(
            dataNodes: 3,
            configure: { options in
                Self.fast(&options)
                options.leaveGrace = .seconds(1)
            }
        ) { cluster in
            let path = try DFSPath("/away")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 65536, replication: 2))
            let holder = try #require(try await cluster.client.stat(path).blocks.first?.replicas.first?.nodeID)
            let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == holder })
            await cluster.dataServers[index]!.leave(grace: .seconds(1))
            try await eventually(timeout: .seconds(20), "copies made once the grace ran out") {
                let stat = try await cluster.client.stat(path)
                return stat.blocks.allSatisfy { block in block.replicas.filter { $0.nodeID != holder }.count == 2 }
            }
        }
    }

    /// SIGTERM in the middle of an upload: the node finishes or cleanly fails the block under
    /// way, tells the meta server it is leaving and exits 0 within seconds; the upload ends
    /// (done, or with a clear error), never hangs. Then the meta server exits 0 too.
    @Test func sigtermStopsServersCleanly() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("big", count: 64 * 1024 * 1024, seed: 93)
        let meta = try await ServerProcess(["serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", local.path("meta.db"), "--heartbeat", "200ms"])
        defer { meta.kill() }
        let node = try await ServerProcess([
            "serve-data", "--listen", "127.0.0.1:0", "--meta", meta.endpoint.description, "--dir", local.path("data"),
        ])
        defer { node.kill() }
        try await eventually(timeout: .seconds(20), "a small upload works") {
            try await DFSBinary.run(["cp", "--replication", "1", local.path("big"), "\(meta.endpoint):/first"]).status == 0
        }
        async let upload = DFSBinary.run(["cp", "--replication", "1", "--block-size", "4MiB", local.path("big"), "\(meta.endpoint):/second"])
        // Stop the node once the second upload has reached it.
        try await eventually(timeout: .seconds(20), "the second upload under way") {
            // A block being written is a temp file in its shard folder.
            let blocks = local.path("data/blocks")
            let shards = (try? FileManager.default.contentsOfDirectory(atPath: blocks)) ?? []
            let writing = shards.contains { shard in
                ((try? FileManager.default.contentsOfDirectory(atPath: blocks + "/" + shard)) ?? []).contains { $0.hasPrefix("tmp-") }
            }
            return writing || shards.count > 40
        }
        let started = ContinuousClock.now
        kill(node.processIdentifier, SIGTERM)
        try await eventually(timeout: .seconds(15), "the node exited") { !node.process.isRunning }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(node.process.terminationReason == .exit && node.process.terminationStatus == 0)
        let result = try await upload
        if result.status != 0 {
            #expect(result.standardError.hasPrefix("dfs cp: "), "\(result.standardError)")
        }
        let status = try await DFSBinary.run(["status", "--json", meta.endpoint.description])
        #expect(status.standardOutput.contains(#""leaving":true"#), "\(status.standardOutput)")

        kill(meta.processIdentifier, SIGTERM)
        try await eventually(timeout: .seconds(15), "the meta server exited") { !meta.process.isRunning }
        #expect(meta.process.terminationReason == .exit && meta.process.terminationStatus == 0)
    }
}
