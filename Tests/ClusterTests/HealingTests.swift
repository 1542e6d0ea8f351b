import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSTesting
import Foundation
import Testing

/// Liveness, repair and garbage collection with short timings: heartbeats every 100 ms, a
/// node dead after 3 s of silence, the repair loop every 100 ms. One test at a time: each
/// kills nodes on purpose, and a loaded machine must not kill others by delaying heartbeats.
@Suite(.serialized) struct HealingTests {
    static let mebibyte = 1024 * 1024

    static func fast(_ options: inout MetaServer.Options) {
        options.heartbeatInterval = .milliseconds(100)
        options.deadAfter = .seconds(3)
        options.repairInterval = .milliseconds(100)
        options.orphanGrace = .seconds(2)
    }

    static func read(_ path: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every block of `path` has `count` good replicas on running nodes (replicas on a
    /// stopped node stay recorded: it may come back).
    static func fullyReplicated(_ cluster: TestCluster, _ path: DFSPath, count: Int) async throws -> Bool {
        let stat = try await cluster.client.stat(path)
        return stat.blocks.allSatisfy { block in
            block.replicas.filter { cluster.dataServer($0.nodeID) != nil }.count == count
        }
    }

    @Test func deadNodeIsReportedAndItsBlocksAreCopiedElsewhere() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 6 * Self.mebibyte, seed: 51)
        try await withCluster(dataNodes: 4, configure: Self.fast) { cluster in
            let path = try DFSPath("/heal/f")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            try await eventually("healthy after the upload") { try await cluster.client.fsck().healthy }
            let victim = try #require(try await cluster.client.stat(path).blocks.first?.replicas.first?.nodeID)
            let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == victim })
            await cluster.stopDataNode(index)
            try await eventually("the node is reported dead") {
                try await cluster.client.status().nodes.contains { $0.id == victim && !$0.alive }
            }
            try await eventually(timeout: .seconds(20), "fsck healthy with three live replicas of every block") {
                let healthy = try await cluster.client.fsck().healthy
                let replicated = try await Self.fullyReplicated(cluster, path, count: 3)
                return healthy && replicated
            }
            try await cluster.checkReplicasExist(path)
            let status = try await cluster.client.status()
            #expect(status.totals.underReplicated == 0 && status.totals.missing == 0)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
        }
    }

    @Test func fsckReportsUnderReplicatedAndMissingBlocksAndExitsNonZero() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 100_000, seed: 52)
        try await withCluster(dataNodes: 2, configure: Self.fast) { cluster in
            let under = try DFSPath("/under")
            let single = try DFSPath("/single")
            try await cluster.client.upload(localPath: local.path("f"), to: under, options: UploadOptions(replication: 3))
            try await cluster.client.upload(localPath: local.path("f"), to: single, options: UploadOptions(replication: 1))
            let holder = try #require(try await cluster.client.stat(single).blocks.first?.replicas.first?.nodeID)
            await cluster.stopDataNode(try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == holder }))
            try await eventually("the block of /single is missing") {
                try await cluster.client.fsck().totals.missing == 1
            }
            let report = try await cluster.client.fsck()
            #expect(!report.healthy)
            let kinds = Dictionary(uniqueKeysWithValues: report.files.map { ($0.path, $0.problems.map(\.kind)) })
            #expect(kinds[single] == [.missing])
            #expect(kinds[under] == [.underReplicated])
            let cli = try await DFSBinary.run(["fsck", "127.0.0.1:\(cluster.metaEndpoint.port)"])
            #expect(cli.status == 1)
            #expect(cli.standardOutput.contains("UNHEALTHY"))
            #expect(cli.standardOutput.contains("/single"))
            let json = try await DFSBinary.run(["status", "--json", "127.0.0.1:\(cluster.metaEndpoint.port)"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            let nodes = try #require(object["nodes"] as? [[String: Any]])
            #expect(nodes.count == 2)
            #expect(nodes.contains { ($0["id"] as? String) == holder.rawValue && ($0["alive"] as? Bool) == false })
            for key in ["id", "address", "alive", "capacity", "used", "blocks"] {
                #expect(nodes.allSatisfy { $0[key] != nil }, "missing \(key)")
            }
        }
    }

    /// The scrubber finds a replica that rotted on disk; it is deleted and replaced.
    @Test func corruptReplicaFoundByTheScrubberIsReplaced() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 2 * Self.mebibyte, seed: 53)
        try await withCluster(
            dataNodes: 4, configure: Self.fast,
            configureData: { options in
                options.scrubBytesPerSecond = 64 * 1024 * 1024
                options.scrubInterval = .milliseconds(100)
            }
        ) { cluster in
            let path = try DFSPath("/rot")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            let block = try #require(try await cluster.client.stat(path).blocks.first)
            let bad = try #require(block.replicas.first?.nodeID)
            try await eventually("healthy after the upload") { try await cluster.client.fsck().healthy }
            let server = try #require(cluster.dataServer(bad))
            let file = server.store.root.appendingPathComponent("blocks")
                .appendingPathComponent(String(format: "%02x", Int(block.blockID.rawValue & 0xff)))
                .appendingPathComponent(block.blockID.fileName).path
            let handle = try #require(FileHandle(forUpdatingAtPath: file))
            try handle.seek(toOffset: 5000)
            try handle.write(contentsOf: Data([0x00, 0x01, 0x02, 0x03]))
            try handle.close()
            // The bad copy is deleted and a good one made: on another node, or on the same
            // node again once its bad copy is gone. Either way every copy must be intact.
            let crcOf = { (data: Data) in CRC32C.checksum([UInt8](data)) }
            try await eventually(timeout: .seconds(30), "the corrupt replica is gone and replaced") {
                let replicas = try await cluster.client.stat(path).blocks.first?.replicas.map(\.nodeID) ?? []
                let onBadNode = FileManager.default.contents(atPath: file)
                let badCopyGone = onBadNode.map { crcOf($0) == block.checksum } ?? true
                return badCopyGone && replicas.count == 3
            }
            #expect(try await cluster.client.fsck().healthy)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try Self.read(local.path("out")) == original)
        }
    }

    /// A node that was down while a file was replaced deletes the old blocks once it is back.
    @Test func replacedFileBlocksAreDeletedEverywhereIncludingANodeThatWasDown() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("v1", count: 3 * Self.mebibyte, seed: 54)
        try local.writeRandomFile("v2", count: 1000, seed: 55)
        try await withCluster(dataNodes: 3, configure: Self.fast) { cluster in
            let path = try DFSPath("/versioned")
            try await cluster.client.upload(localPath: local.path("v1"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            let oldBlocks = try await cluster.client.stat(path).blocks.map(\.blockID)
            await cluster.stopDataNode(2)
            try await cluster.client.upload(localPath: local.path("v2"), to: path, options: UploadOptions(replication: 3))
            try await eventually("the live nodes deleted the old blocks") {
                [0, 1].allSatisfy { index in oldBlocks.allSatisfy { cluster.dataServers[index]?.store.length(of: $0) == nil } }
            }
            let restarted = try await cluster.addDataNode(index: 2)
            #expect(oldBlocks.allSatisfy { restarted.store.length(of: $0) != nil }, "the node kept its blocks while down")
            try await eventually("the node that was down deleted them too") {
                oldBlocks.allSatisfy { restarted.store.length(of: $0) == nil }
            }
        }
    }

    /// A block file no file owns is deleted, but not before the grace period.
    @Test func unknownBlockIsDeletedOnlyAfterTheGracePeriod() async throws {
        try await withCluster(dataNodes: 1, configure: Self.fast) { cluster in
            let server = try #require(cluster.dataServers[0])
            let stray = BlockID(UInt64(1) << 60)
            let writer = try await server.store.makeWriter(for: stray, length: 3)
            try writer.append([1, 2, 3], checksums: BlockData(checksums: BlockData.checksums(of: [1, 2, 3])))
            try await writer.commit()
            try await eventually("the meta server learned of the stray block") {
                try await cluster.meta.service.deferredGarbage(nodeID: server.store.nodeID).contains(stray)
            }
            let learned = ContinuousClock.now
            #expect(server.store.length(of: stray) == 3, "deleted before its grace period")
            try await eventually("the stray block is deleted") { server.store.length(of: stray) == nil }
            // The grace is 2 s; deletion could not have come before it ran out.
            #expect(ContinuousClock.now - learned >= .milliseconds(1500))
        }
    }

    /// A node that comes back after its blocks were copied elsewhere has one replica too
    /// many of each: the extras are dropped.
    @Test func nodeThatComesBackLosesItsExtraReplicas() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 2 * Self.mebibyte, seed: 56)
        try await withCluster(dataNodes: 4, configure: Self.fast) { cluster in
            let path = try DFSPath("/extra")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 2))
            let victim = try #require(try await cluster.client.stat(path).blocks.first?.replicas.first?.nodeID)
            let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == victim })
            await cluster.stopDataNode(index)
            try await eventually(timeout: .seconds(20), "repaired without the dead node") {
                try await Self.fullyReplicated(cluster, path, count: 2)
            }
            try await cluster.addDataNode(index: index)
            try await eventually(timeout: .seconds(20), "every block back to exactly two replicas") {
                let stat = try await cluster.client.stat(path)
                let total = cluster.dataServers.compactMap { $0 }.map { server in
                    stat.blocks.filter { server.store.length(of: $0.blockID) != nil }.count
                }.reduce(0, +)
                return stat.blocks.allSatisfy { $0.replicas.count == 2 } && total == 2 * stat.blocks.count
            }
        }
    }

    /// Many blocks to repair at once, one copy per node at a time.
    @Test func repairHonoursThePerNodeCopyLimit() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 20 * 65536, seed: 57)
        try await withCluster(
            dataNodes: 4,
            configure: { options in
                Self.fast(&options)
                options.repairCopiesPerNode = 1
            }
        ) { cluster in
            let path = try DFSPath("/many")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 65536, replication: 3))
            await cluster.stopDataNode(0)
            var highest = 0
            try await eventually(timeout: .seconds(30), "every block repaired") {
                highest = max(highest, await cluster.meta.service.repairLoad().values.max() ?? 0)
                return try await Self.fullyReplicated(cluster, path, count: 3)
            }
            #expect(highest <= 1)
        }
    }

    /// A node restarted on its folder within the dead-after time keeps its id and blocks, and
    /// nothing is copied.
    @Test func quickRestartCausesNoCopying() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 3 * Self.mebibyte, seed: 58)
        try await withCluster(
            dataNodes: 3,
            configure: { options in
                Self.fast(&options)
                options.deadAfter = .seconds(4)
            }
        ) { cluster in
            let path = try DFSPath("/steady")
            try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 3))
            // Past the start-up quiet period, so that the repair loop is really running.
            try await eventually("the repair loop is running") { await cluster.meta.service.isRepairing }
            let id = try #require(cluster.dataServers[1]?.store.nodeID)
            await cluster.stopDataNode(1)
            let restarted = try await cluster.addDataNode(index: 1)
            #expect(restarted.store.nodeID == id)
            #expect(restarted.store.blockCount == 3)
            try await eventually("the restarted node registered") { await restarted.isRegistered }
            for _ in 0..<20 {
                #expect(await cluster.meta.service.repairLoad().isEmpty)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(cluster.dataServers.compactMap { $0?.store.blockCount } == [3, 3, 3])
        }
    }
}
