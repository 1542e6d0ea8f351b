import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Tree copies of small files, which travel in batches (createFiles, writeBlocks,
/// completeFiles), and a data node's answers to batches good and bad.
@Suite struct BatchUploadTests {
    /// A tree of small files of many sizes (empty ones too), one file too large for a batch,
    /// and a nested folder: everything arrives whole, and the batches spread over the nodes.
    @Test func smallFilesGoInBatchesAndComeBackWhole() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var expected: [String: [UInt8]] = [:]
        let sizes = [0, 1, 4095, 4096, 65536, 65537, 200_000, 300_000]
        for index in 0..<150 {
            let name = index % 3 == 0 ? "sub/f\(index)" : "f\(index)"
            expected[name] = try local.writeRandomFile("tree/\(name)", count: sizes[index % sizes.count], seed: UInt64(500 + index))
        }
        try await withCluster { cluster in
            let result = try await cluster.client.uploadTree(
                localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 2))
            #expect(result.files == 150)
            #expect(result.bytes == expected.values.reduce(0) { $0 + $1.count })
            var nodesUsed = Set<NodeID>()
            for name in expected.keys {
                let stat = try await cluster.client.stat(try DFSPath("/t/\(name)"))
                #expect(stat.info.size == expected[name]?.count)
                for block in stat.blocks {
                    #expect(block.replicas.count == 2)
                    nodesUsed.formUnion(block.replicas.map(\.nodeID))
                }
            }
            #expect(nodesUsed.count == 3, "batches are placed like blocks and spread over the nodes")
            let back = local.url.appendingPathComponent("back")
            let down = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path)
            #expect(down.files == 150)
            for (name, bytes) in expected {
                #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent(name))) == bytes, "\(name)")
            }
            try await cluster.checkReplicasExist(try DFSPath("/t/f1"))
        }
    }

    /// Without overwriting, files the cluster has are skipped one by one inside a batch; the
    /// new ones beside them are copied.
    @Test func existingFilesAreSkippedInsideABatch() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var originals: [[UInt8]] = []
        for index in 0..<40 {
            originals.append(try local.writeRandomFile("tree/f\(index)", count: 1000 + index, seed: UInt64(700 + index)))
        }
        try await withCluster(dataNodes: 1) { cluster in
            let first = try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 1))
            #expect(first.files == 40)
            for index in 0..<40 where index % 2 == 0 {
                try local.writeRandomFile("tree/f\(index)", count: 10, seed: UInt64(900 + index))
            }
            try local.writeRandomFile("tree/new", count: 123, seed: 999)
            let second = try await cluster.client.uploadTree(
                localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 1, overwrite: false))
            #expect(second.files == 1)
            #expect(second.skipped == 40)
            for index in [0, 1, 38, 39] {
                try await cluster.client.download(try DFSPath("/t/f\(index)"), to: local.path("out\(index)"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out\(index)")))) == originals[index])
            }
            #expect(try await cluster.client.stat(try DFSPath("/t/new")).info.size == 123)
            #expect(try await cluster.meta.service.pendingFileCount() == 0)
        }
    }

    /// A node that dies on the first batch it gets (with two replicas on two nodes, every
    /// batch reaches it): those files go again one by one, with the pipeline recovery of
    /// single files, and every file arrives, on the node that is left.
    @Test func aBatchWhoseNodeDiesIsSentAgainFileByFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var originals: [[UInt8]] = []
        for index in 0..<300 {
            originals.append(try local.writeRandomFile("tree/f\(index)", count: 2000, seed: UInt64(1100 + index)))
        }
        try await withCluster(dataNodes: 1) { cluster in
            let doomed = try await cluster.addDataNode { $0.faults.dieAfterReceivingBytes = 1 }
            try await cluster.waitForLiveNodes(2)
            let result = try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 2))
            #expect(result.files == 300)
            #expect(await doomed.plannedDeathBytes > 0, "the doomed node got a batch")
            for index in stride(from: 0, to: 300, by: 23) {
                let stat = try await cluster.client.stat(try DFSPath("/t/f\(index)"))
                #expect(stat.blocks.allSatisfy { !$0.replicas.map(\.nodeID).contains(doomed.store.nodeID) })
                try await cluster.client.download(try DFSPath("/t/f\(index)"), to: local.path("out\(index)"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out\(index)")))) == originals[index])
            }
            #expect(try await cluster.meta.service.pendingFileCount() == 0)
        }
    }

    /// A data node refuses a batch that does not add up, names a block twice, carries a wrong
    /// checksum or too many blocks, with an error reply on a connection that stays usable,
    /// and stores none of its blocks; a good batch is then stored whole.
    @Test func aDataNodeRefusesBadBatchesAndStoresGoodOnes() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let server = try #require(cluster.dataServers.first ?? nil)
            let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(5))
            defer { Task { await connection.close() } }
            let a = [UInt8](repeating: 7, count: 5000)
            let b = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            func block(_ id: UInt64, _ bytes: [UInt8]) -> BatchBlock {
                BatchBlock(blockID: BlockID(id), length: bytes.count, checksums: BlockData.checksums(of: bytes))
            }
            var wrongChecksum = block(11, b)
            wrongChecksum.checksums[1] ^= 1
            let bad: [(String, WriteBlocks, [UInt8], DFSError.Code)] = [
                ("lengths that do not add up", WriteBlocks(blocks: [block(10, a), block(11, b)]), a + b + [1], .invalidArgument),
                ("a block longer than the payload", WriteBlocks(blocks: [block(10, a)]), Array(a.prefix(100)), .invalidArgument),
                ("a block named twice", WriteBlocks(blocks: [block(10, a), block(10, a)]), a + a, .invalidArgument),
                ("a wrong checksum", WriteBlocks(blocks: [block(10, a), wrongChecksum]), a + b, .checksumMismatch),
                ("no blocks", WriteBlocks(blocks: []), [], .invalidArgument),
                ("too many blocks", WriteBlocks(blocks: (0..<65).map { block(100 + UInt64($0), [1]) }), [UInt8](repeating: 1, count: 65), .invalidArgument),
            ]
            for (what, request, payload, code) in bad {
                try await connection.send(request, payload: payload, timeout: .seconds(20))
                let frame = try #require(try await connection.readFrame(timeout: .seconds(20)))
                #expect(frame.type == MessageType.error.rawValue, "\(what)")
                if frame.type == MessageType.error.rawValue {
                    #expect(try frame.decode(ErrorMessage.self).error.code == code, "\(what)")
                }
            }
            #expect(server.store.blockCount == 0)
            try await connection.send(WriteBlocks(blocks: [block(10, a), block(11, b)]), payload: a + b, timeout: .seconds(20))
            let (reply, _) = try await connection.readReply(WriteBlocksOK.self, timeout: .seconds(20))
            #expect(reply.stored == [server.store.nodeID])
            #expect(
                reply.checksums == [
                    BlockData.combined(BlockData.checksums(of: a), length: a.count), BlockData.combined(BlockData.checksums(of: b), length: b.count),
                ])
            #expect(server.store.blockCount == 2)
            #expect(server.store.length(of: BlockID(11)) == b.count)
            let read = try await connection.request(ReadBlock(blockID: BlockID(11)), expecting: ReadBlockOK.self, timeout: .seconds(20))
            #expect(read.length == b.count)
            let frame = try #require(try await connection.readFrame(timeout: .seconds(20)))
            #expect(frame.payload == b)
        }
    }
}

/// Blocks stored in packs through a cluster: restarts, rot, repair.
@Suite struct PackedBlockTests {
    static func fast(_ options: inout MetaServer.Options) {
        options.heartbeatInterval = .milliseconds(100)
        options.deadAfter = .seconds(3)
        options.repairInterval = .milliseconds(100)
        options.orphanGrace = .seconds(2)
    }

    /// Most files of a tree are removed: the nodes delete their packed blocks as the meta
    /// server tells them, and rewrite the packs left mostly empty, which frees the space;
    /// the files that stay read back the same.
    @Test func removedFilesFreeTheirPacksSpace() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var originals: [[UInt8]] = []
        for index in 0..<60 {
            originals.append(try local.writeRandomFile("tree/f\(index)", count: 20_000, seed: UInt64(1700 + index)))
        }
        try await withCluster(dataNodes: 1, configure: Self.fast) { cluster in
            try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 1))
            let server = try #require(cluster.dataServers.first ?? nil)
            let packs = server.store.root.path + "/blocks/packs"
            func packBytes() -> Int {
                ((try? FileManager.default.contentsOfDirectory(atPath: packs)) ?? []).reduce(0) { total, name in
                    total + ((try? FileManager.default.attributesOfItem(atPath: packs + "/" + name)[.size] as? Int) ?? 0)
                }
            }
            let before = packBytes()
            #expect(before >= 60 * 20_000)
            for index in 0..<60 where index % 4 != 0 {
                try await cluster.client.remove(try DFSPath("/t/f\(index)"), recursive: false)
            }
            try await eventually(timeout: .seconds(20), "the removed blocks are deleted and their packs rewritten") {
                server.store.blockCount == 15 && server.store.packsToCompact.isEmpty && packBytes() < before / 2
            }
            for index in stride(from: 0, to: 60, by: 4) {
                try await cluster.client.download(try DFSPath("/t/f\(index)"), to: local.path("out\(index)"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out\(index)")))) == originals[index])
            }
        }
    }

    /// Small files land in packs; every node restarts and still serves them; then a byte of
    /// one packed replica rots: the scrubber finds it, the meta server has the block copied
    /// from a good replica (read out of its pack) and the bad one deleted.
    @Test func packedBlocksSurviveRestartsAndARottenOneIsReplaced() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var originals: [[UInt8]] = []
        for index in 0..<30 {
            originals.append(try local.writeRandomFile("tree/f\(index)", count: 3000 + 100 * index, seed: UInt64(1500 + index)))
        }
        try await withCluster(
            dataNodes: 3, configure: Self.fast,
            configureData: { options in
                options.scrubBytesPerSecond = 64 * 1024 * 1024
                options.scrubInterval = .milliseconds(100)
            }
        ) { cluster in
            try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 2))
            let packs = cluster.dataServers.compactMap { $0 }.map {
                ((try? FileManager.default.contentsOfDirectory(atPath: $0.store.root.path + "/blocks/packs")) ?? []).count
            }
            #expect(packs.reduce(0, +) >= 2, "the batch went into packs")
            for index in 0..<3 {
                await cluster.dataServers[index]?.stop()
                _ = try await cluster.addDataNode(index: index)
            }
            try await cluster.waitForLiveNodes(3)
            for index in [0, 14, 29] {
                try await cluster.client.download(try DFSPath("/t/f\(index)"), to: local.path("a\(index)"))
                #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("a\(index)")))) == originals[index])
            }

            let path = try DFSPath("/t/f7")
            let block = try #require(try await cluster.client.stat(path).blocks.first)
            let bad = try #require(block.replicas.first?.nodeID)
            let server = try #require(cluster.dataServer(bad))
            let (file, offset) = try #require(server.store.location(of: block.blockID))
            #expect(file.contains("/blocks/packs/pack_"))
            let handle = try #require(FileHandle(forUpdatingAtPath: file))
            try handle.seek(toOffset: UInt64(offset + 100))
            let byte = try #require(try handle.read(upToCount: 1)?.first)
            try handle.seek(toOffset: UInt64(offset + 100))
            try handle.write(contentsOf: Data([byte ^ 0xFF]))
            try handle.close()
            /// The block's bytes as a node holds them, wherever they are.
            func copy(on server: DataServer) -> [UInt8]? {
                guard let (file, offset) = server.store.location(of: block.blockID),
                    let handle = FileHandle(forReadingAtPath: file)
                else { return nil }
                defer { try? handle.close() }
                try? handle.seek(toOffset: UInt64(offset))
                return (try? handle.read(upToCount: block.length)).map { [UInt8]($0) }
            }
            // The bad copy is deleted and a good one made, on the third node or on the same
            // node again once its bad copy is gone: either way every copy must be intact.
            try await eventually(timeout: .seconds(30), "the rotten replica is gone and replaced") {
                let replicas = try await cluster.client.stat(path).blocks.first?.replicas.map(\.nodeID) ?? []
                let badCopyGone = copy(on: server).map { $0 == originals[7] } ?? true
                let allIntact = replicas.allSatisfy { replica in
                    cluster.dataServer(replica).flatMap { copy(on: $0) } == originals[7]
                }
                return badCopyGone && replicas.count == 2 && allIntact
            }
            try await cluster.client.download(path, to: local.path("b7"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("b7")))) == originals[7])
        }
    }
}
