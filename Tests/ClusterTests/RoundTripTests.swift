import DFSClient
import DFSCore
import DFSTesting
import Foundation
import Testing

/// Files go in and come back byte for byte, through the client library, on a real cluster.
@Suite struct RoundTripTests {
    static let mebibyte = 1024 * 1024

    /// Every size the original design got wrong: empty, one byte, a block and one byte more.
    @Test(arguments: [
        (0, 1024 * 1024),
        (1, 1024 * 1024),
        (4096, 4096),
        (16 * 1024 * 1024 + 1, 1024 * 1024),
        (16 * 1024 * 1024 + 1, 64 * 1024 * 1024),
        (3 * 1024 * 1024 + 5, 1024 * 1024),
    ])
    func roundTripsFileOfSize(size: Int, blockBytes: Int) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("in.bin", count: size, seed: UInt64(size))
        try await withCluster { cluster in
            let path = try DFSPath("/sizes/file-\(size)")
            let info = try await cluster.client.upload(
                localPath: local.path("in.bin"), to: path, options: UploadOptions(blockBytes: blockBytes))
            #expect(info.size == size)
            #expect(info.blockBytes == blockBytes)
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.count == (size + blockBytes - 1) / blockBytes)
            try await cluster.client.download(path, to: local.path("out.bin"))
            let copy = try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out.bin"))))
            #expect(copy == original)
        }
    }

    @Test func nestedPathRoundTripsAndCreatesFolders() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("document.pdf", count: 100_000, seed: 7)
        try await withCluster { cluster in
            try await cluster.client.upload(localPath: local.path("document.pdf"), to: try DFSPath("docs/document.pdf"))
            let root = try await cluster.client.list(.root)
            #expect(root.entries.map(\.path.string) == ["/docs"])
            #expect(root.entries.first?.type == .dir)
            let docs = try await cluster.client.list(try DFSPath("/docs"))
            #expect(docs.entries.map(\.path.name) == ["document.pdf"])
            #expect(docs.entries.first?.size == 100_000)
            try await cluster.client.download(try DFSPath("/docs/document.pdf"), to: local.path("copy.pdf"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("copy.pdf")))) == original)
        }
    }

    /// Consecutive blocks go to different nodes, and each block file is where the metadata says.
    @Test func multiBlockFileSpreadsOverNodesAndMatchesTheirFolders() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("big", count: 8 * Self.mebibyte, seed: 11)
        try await withCluster { cluster in
            let path = try DFSPath("/big")
            try await cluster.client.upload(localPath: local.path("big"), to: path, options: UploadOptions(blockBytes: Self.mebibyte))
            let stat = try await cluster.client.stat(path)
            #expect(stat.blocks.count == 8)
            let nodes = Set(stat.blocks.flatMap { $0.replicas.map(\.nodeID) })
            #expect(nodes.count >= 2, "blocks all went to \(nodes)")
            // Invariant: every replica the metadata names is a block file of that length on that node.
            let serversByID = Dictionary(uniqueKeysWithValues: cluster.dataServers.compactMap { $0 }.map { ($0.store.nodeID, $0) })
            for block in stat.blocks {
                for replica in block.replicas {
                    let server = try #require(serversByID[replica.nodeID])
                    #expect(server.store.length(of: block.blockID) == block.length)
                }
            }
        }
    }

    @Test func uploadToExistingPathReplacesTheFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("first", count: 5000, seed: 1)
        let second = try local.writeRandomFile("second", count: 3000, seed: 2)
        try await withCluster { cluster in
            let path = try DFSPath("/a.txt")
            try await cluster.client.upload(localPath: local.path("first"), to: path)
            try await cluster.client.upload(localPath: local.path("second"), to: path)
            let root = try await cluster.client.list(.root)
            #expect(root.entries.count == 1)
            #expect(root.entries.first?.size == 3000)
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == second)
        }
    }

    @Test func uploadWithoutOverwriteRefusesExistingFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10, seed: 3)
        try await withCluster { cluster in
            let path = try DFSPath("/f")
            try await cluster.client.upload(localPath: local.path("f"), to: path)
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(overwrite: false))
            }
            #expect(error?.code == .alreadyExists)
        }
    }

    @Test func downloadOfMissingFileFailsAndLeavesNoLocalFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster { cluster in
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.download(try DFSPath("/nothing/here"), to: local.path("out"))
            }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("/nothing/here") == true)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: local.url.path)
            #expect(leftovers.isEmpty, "left behind: \(leftovers)")
        }
    }

    @Test func uploadWithNoDataNodeFailsAndLeavesNothingVisible() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10_000, seed: 4)
        try await withCluster(dataNodes: 0) { cluster in
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/docs/f"))
            }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("no data node") == true)
            let listing = try await cluster.client.list(.root)
            #expect(listing.entries.isEmpty)
        }
    }

    @Test func downloadIntoExistingFolderUsesTheFileName() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 777, seed: 5)
        try await withCluster { cluster in
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/x/report.pdf"))
            try FileManager.default.createDirectory(atPath: local.path("into"), withIntermediateDirectories: true)
            try await cluster.client.download(try DFSPath("/x/report.pdf"), to: local.path("into"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("into/report.pdf")))) == original)
        }
    }

    @Test func fileAndFolderCannotShareAPath() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 10, seed: 6)
        try await withCluster { cluster in
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/a/b"))
            let underFile = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/a/b/c"))
            }
            #expect(underFile?.code == .notADirectory)
            let onFolder = await #expect(throws: DFSError.self) {
                try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/a"))
            }
            #expect(onFolder?.code == .isADirectory)
        }
    }
}
