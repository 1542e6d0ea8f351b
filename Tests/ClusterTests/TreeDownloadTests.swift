import DFSClient
import DFSCore
import DFSData
import DFSMeta
import DFSNet
import DFSTesting
import Foundation
import Testing

/// Tree downloads: small files come in `readBlocks` batches, with their blocks from the
/// listing; larger ones one by one; everything byte for byte, whatever fails on the way.
@Suite struct TreeDownloadTests {
    static let secret = try! ClusterSecret("a secret for the tree download tests")

    /// A tree of small files of many sizes, empty files, a file of several blocks, large
    /// ones and nested folders (one empty), uploaded and downloaded: every file comes back
    /// byte for byte, the empty folder too, and the small files came in batches.
    @Test func treeOfSmallLargeAndEmptyFilesComesBackByteIdentical() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        for folder in ["a/b/c", "a/empty", "d"] {
            try FileManager.default.createDirectory(at: tree.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        var expected: [String: [UInt8]] = [:]
        let sizes = [0, 1, 100, 4095, 4096, 65536, 65537, 200_000, Limits.batchedFileBytesMax, Limits.batchedFileBytesMax + 1]
        let folders = ["", "a/", "a/b/", "a/b/c/", "d/"]
        for index in 0..<400 {
            let name = "\(folders[index % folders.count])f\(index)"
            expected[name] = try local.writeRandomFile("tree/\(name)", count: sizes[index % sizes.count], seed: UInt64(3000 + index))
        }
        // Three blocks of 1 MiB and a bit: the normal download path.
        expected["a/large"] = try local.writeRandomFile("tree/a/large", count: 3 * 1_048_576 + 5, seed: 3999)
        try await withCluster { cluster in
            let up = try await cluster.client.uploadTree(
                localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(blockBytes: 1 << 20, replication: 2))
            #expect(up.files == expected.count)

            let back = local.url.appendingPathComponent("back")
            let copied = Mutex(0)
            var events = TreeCopyEvents()
            events.copied = { _, _ in copied.withLock { $0 += 1 } }
            let down = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path, events: events)
            #expect(down.files == expected.count)
            #expect(down.bytes == expected.values.reduce(0) { $0 + $1.count })
            #expect(copied.withLock { $0 } == expected.count)
            for (name, bytes) in expected {
                #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent(name))) == bytes, "\(name)")
            }
            var isFolder: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: back.appendingPathComponent("a/empty").path, isDirectory: &isFolder) && isFolder.boolValue)
            let mode = try FileManager.default.attributesOfItem(atPath: back.appendingPathComponent("f5").path)[.posixPermissions] as? Int
            #expect(mode == 0o644, "a downloaded file is rw-r--r--, as a download makes it")
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: back.path).filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty, "\(leftovers)")
            let batches = cluster.dataServers.compactMap { $0?.answeredBatchReads }.reduce(0, +)
            #expect(batches > 0 && batches < 40, "\(batches) readBlocks for about 350 small files")

            // Again, verified and without overwriting: an edited file stays as it is, a file
            // removed locally comes back (an empty one).
            try Data([1, 2, 3]).write(to: back.appendingPathComponent("a/f1"))
            try FileManager.default.removeItem(at: back.appendingPathComponent("f0"))
            let again = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path, overwrite: false, verify: true)
            #expect(again.files == 1)
            #expect(again.skipped == expected.count - 1)
            #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent("a/f1"))) == [1, 2, 3])
            #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent("f0"))) == expected["f0"])
            // Overwriting, with a folder in a small file's place: the file goes inside it, as
            // a download of it alone does (and as cp does).
            try FileManager.default.removeItem(at: back.appendingPathComponent("d/f4"))
            try FileManager.default.createDirectory(at: back.appendingPathComponent("d/f4"), withIntermediateDirectories: true)
            let third = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path, verify: true)
            #expect(third.files == expected.count)
            #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent("a/f1"))) == expected["a/f1"])
            #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent("d/f4/f4"))) == expected["d/f4"])
        }
    }

    /// Every replica on one node of two is corrupt: the node's checks fail those blocks in
    /// its batches, the client reads them from the other node, and every file comes back
    /// whole. (What the meta server then does with the bad replicas, it does quickly enough
    /// with two nodes to race any check here: HealingTests and ReplicaReportTests cover it.)
    @Test func corruptReplicasInABatchAreReadFromTheOtherReplica() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        var expected: [String: [UInt8]] = [:]
        for index in 0..<200 {
            expected["f\(index)"] = try local.writeRandomFile("tree/f\(index)", count: 1000 + 37 * index, seed: UInt64(4000 + index))
        }
        try await withCluster(dataNodes: 2) { cluster in
            try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 2))
            let bad = try #require(cluster.dataServers[0])
            for name in expected.keys {
                let block = try #require(try await cluster.client.stat(try DFSPath("/t/\(name)")).blocks.first)
                let (file, offset) = try #require(bad.store.location(of: block.blockID))
                let handle = try #require(FileHandle(forUpdatingAtPath: file))
                try handle.seek(toOffset: UInt64(offset + 10))
                let byte = try #require(try handle.read(upToCount: 1)?.first)
                try handle.seek(toOffset: UInt64(offset + 10))
                try handle.write(contentsOf: Data([byte ^ 0x5A]))
                try handle.close()
            }
            let back = local.url.appendingPathComponent("back")
            let down = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path)
            #expect(down.files == expected.count)
            for (name, bytes) in expected {
                #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent(name))) == bytes, "\(name)")
            }
            #expect(bad.answeredBatchReads > 0, "the corrupt node was asked for some of the blocks")
        }
    }

    /// One node of three is down when the download starts (the meta server has not noticed
    /// yet): the batches planned on it fail at once, their blocks are read from the other
    /// replicas, and every file comes back whole.
    @Test func blocksOfANodeThatIsDownAreReadFromTheOtherReplicas() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var expected: [String: [UInt8]] = [:]
        for index in 0..<300 {
            let name = index % 2 == 0 ? "sub/f\(index)" : "f\(index)"
            expected[name] = try local.writeRandomFile("tree/\(name)", count: index % 7 == 0 ? 0 : 3000 + index, seed: UInt64(5000 + index))
        }
        try await withCluster(configure: { $0.deadAfter = .seconds(60) }) { cluster in
            try await cluster.client.uploadTree(localFolder: tree.path, to: try DFSPath("/t"), options: UploadOptions(replication: 2))
            await cluster.stopDataNode(2)
            let back = local.url.appendingPathComponent("back")
            let down = try await cluster.client.downloadTree(try DFSPath("/t"), to: back.path)
            #expect(down.files == expected.count)
            for (name, bytes) in expected {
                #expect(try [UInt8](Data(contentsOf: back.appendingPathComponent(name))) == bytes, "\(name)")
            }
        }
    }

    /// A listing with blocks carries the block of each file of one block, with a read token
    /// under a secret, and none for a folder or a file of several blocks.
    @Test func listingWithBlocksCarriesTheBlocksOfSmallFilesOnly() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        _ = try local.writeRandomFile("small", count: 5000, seed: 1)
        _ = try local.writeRandomFile("large", count: 300_000, seed: 2)
        _ = try local.writeRandomFile("empty", count: 0, seed: 3)
        try await withCluster(dataNodes: 1, configure: { $0.secret = Self.secret }) { cluster in
            let options = UploadOptions(blockBytes: 128 * 1024, replication: 1)
            for name in ["small", "large", "empty"] {
                try await cluster.client.upload(localPath: local.path(name), to: try DFSPath("/l/\(name)"), options: options)
            }
            try await cluster.client.makeDirectory(try DFSPath("/l/folder"))
            let connection = try await Connection.open(
                to: cluster.metaEndpoint, role: .client, timeout: .seconds(20), secret: Self.secret)
            defer { Task { await connection.close() } }
            let page = try await connection.request(List(path: try DFSPath("/l"), withBlocks: true), expecting: ListOK.self, timeout: .seconds(20))
            let blocks = try #require(page.blocks)
            let byName = Dictionary(uniqueKeysWithValues: zip(page.entries.map(\.path.name), blocks))
            #expect(byName["empty"]! == [])
            #expect(byName["folder"]! == nil)
            #expect(byName["large"]! == nil, "three blocks: read with getFile")
            let small = try #require(byName["small"] ?? nil)
            let stat = try await cluster.client.stat(try DFSPath("/l/small"))
            #expect(small.map(\.blockID) == stat.blocks.map(\.blockID))
            #expect(small.first?.checksum == stat.blocks.first?.checksum)
            #expect(small.first?.replicas == stat.blocks.first?.replicas)
            #expect(small.first?.token != nil)
            // Without asking, no blocks.
            let plain = try await connection.request(List(path: try DFSPath("/l")), expecting: ListOK.self, timeout: .seconds(20))
            #expect(plain.blocks == nil)

            // The listed token reads the block; a forged one fails its block alone.
            let node = try #require(cluster.dataServers[0])
            let data = try await Connection.open(to: node.endpoint, role: .client, timeout: .seconds(20), secret: Self.secret)
            defer { Task { await data.close() } }
            let block = try #require(small.first)
            try await data.send(
                ReadBlocks(blocks: [BlockRead(blockID: block.blockID, token: block.token), BlockRead(blockID: block.blockID, token: "forged")]),
                timeout: .seconds(20))
            let (reply, frame) = try await data.readReply(ReadBlocksOK.self, timeout: .seconds(20))
            #expect(reply.blocks.first == .served(length: 5000, checksums: BlockData.checksums(of: frame.payload)))
            guard case .failed(let error) = reply.blocks.last else {
                Issue.record("a block with a forged token was served")
                return
            }
            #expect(error.code == .unauthorized)
            #expect(frame.payload == SplitMix64.bytes(count: 5000, seed: 1))
            let tree = try await cluster.client.downloadTree(try DFSPath("/l"), to: local.path("back"))
            #expect(tree.files == 3)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("back/small")))) == SplitMix64.bytes(count: 5000, seed: 1))
        }
    }
}
