import DFSClient
import DFSCore
import DFSData
import DFSNet
import DFSTesting
import Foundation
import Testing

@testable import DFSMeta

#if canImport(Glibc)
    import Glibc
#endif

/// How a data node serves a block to a reader, and what the reader checks.
@Suite struct BlockReadTests {
    static let mebibyte = 1024 * 1024

    /// Reads `request` from `node` and returns the bytes, checking every frame's pieces.
    static func read(_ request: ReadBlock, from node: Endpoint) async throws -> (bytes: [UInt8], frames: [Int]) {
        let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(5))
        defer { Task { await connection.close() } }
        let reply = try await connection.request(request, expecting: ReadBlockOK.self, timeout: .seconds(20))
        var bytes: [UInt8] = []
        var frames: [Int] = []
        while bytes.count < reply.length {
            let frame = try #require(try await connection.readFrame(timeout: .seconds(20)))
            let data = try frame.reply(BlockData.self)
            try data.verify(frame.payload, what: "frame \(frames.count)")
            bytes += frame.payload
            frames.append(frame.payload.count)
        }
        #expect(bytes.count == reply.length)
        return (bytes, frames)
    }

    /// Whole blocks go out in frames of at most 4 MiB of whole pieces (sent from the page
    /// cache), each with the stored checksums of its pieces; a range that ends inside a
    /// piece gets that piece checksummed on its own; a range off the piece grid is refused.
    @Test func rangesComeInFramesEveryPieceOfWhichChecks() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let size = 9 * Self.mebibyte + 1234
        let original = try local.writeRandomFile("f", count: size, seed: 71)
        try await withCluster(dataNodes: 1) { cluster in
            try await cluster.client.upload(
                localPath: local.path("f"), to: try DFSPath("/f"), options: UploadOptions(blockBytes: 16 * Self.mebibyte, replication: 1))
            let block = try #require(try await cluster.client.stat(try DFSPath("/f")).blocks.first)
            let node = try #require(cluster.dataServers.first??.endpoint)

            let whole = try await Self.read(ReadBlock(blockID: block.blockID), from: node)
            #expect(whole.bytes == original)
            #expect(whole.frames == [4 * Self.mebibyte, 4 * Self.mebibyte, Self.mebibyte + 1234])

            let middle = try await Self.read(ReadBlock(blockID: block.blockID, offset: 65536, length: 100_000), from: node)
            #expect(middle.bytes == Array(original[65536..<(65536 + 100_000)]))

            let tail = try await Self.read(ReadBlock(blockID: block.blockID, offset: 9 * Self.mebibyte), from: node)
            #expect(tail.bytes == Array(original[(9 * Self.mebibyte)...]))

            let empty = try await Self.read(ReadBlock(blockID: block.blockID, offset: 65536, length: 0), from: node)
            #expect(empty.bytes.isEmpty)

            let connection = try await Connection.open(to: node, role: .client, timeout: .seconds(5))
            defer { Task { await connection.close() } }
            let offGrid = try await connection.requestResult(
                ReadBlock(blockID: block.blockID, offset: 1000), expecting: ReadBlockOK.self, timeout: .seconds(20))
            guard case .failure(let error) = offGrid else {
                Issue.record("a read at offset 1000 was served")
                return
            }
            #expect(error.code == .invalidArgument)
            let outside = try await connection.requestResult(
                ReadBlock(blockID: block.blockID, offset: 0, length: size + 1), expecting: ReadBlockOK.self, timeout: .seconds(20))
            guard case .failure(let error) = outside else {
                Issue.record("a read past the block's end was served")
                return
            }
            #expect(error.code == .invalidArgument)
        }
    }

    /// A data node sends what its disk holds; a flipped byte reaches the reader with the
    /// checksum the piece had when it was written, and the reader's check refuses it.
    @Test func aCorruptPieceIsSentAsStoredAndFailsTheReadersCheck() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try local.writeRandomFile("f", count: 3 * Self.mebibyte, seed: 72)
        try await withCluster(dataNodes: 1) { cluster in
            try await cluster.client.upload(localPath: local.path("f"), to: try DFSPath("/f"), options: UploadOptions(replication: 1))
            let block = try #require(try await cluster.client.stat(try DFSPath("/f")).blocks.first)
            let server = try #require(cluster.dataServers.first ?? nil)
            try ReplicationTests.corrupt(server, block.blockID, at: 2 * Self.mebibyte + 5)
            let error = await #expect(throws: DFSError.self) {
                _ = try await Self.read(ReadBlock(blockID: block.blockID), from: server.endpoint)
            }
            #expect(error?.code == .checksumMismatch)
            // Through the client: no other replica, so the read fails and leaves nothing.
            let failed = await #expect(throws: DFSError.self) {
                try await cluster.client.download(try DFSPath("/f"), to: local.path("out"))
            }
            #expect(failed?.message.contains("block 0") == true)
            #expect(!FileManager.default.fileExists(atPath: local.path("out")))
        }
    }

    /// `verify` reads the copy back and compares it with the whole-file checksums recorded:
    /// the CRC32C, and the SHA-256 when the upload asked for one. Here each record in turn is
    /// made wrong behind the meta server's back (every block still checks): only that
    /// comparison can notice, and the download fails without leaving a file.
    @Test(arguments: ["crc32c", "sha256"])
    func verifyComparesTheCopyWithTheRecordedChecksums(_ column: String) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let original = try local.writeRandomFile("f", count: 2 * Self.mebibyte + 77, seed: 73)
        try await withCluster(dataNodes: 1) { cluster in
            let path = try DFSPath("/f")
            let info = try await cluster.client.upload(
                localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: Self.mebibyte, replication: 1, sha256: column == "sha256"))
            #expect(info.crc32c == CRC32C.checksum(original))
            #expect((info.sha256 != nil) == (column == "sha256"))
            try await cluster.client.download(path, to: local.path("checked"), verify: true)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("checked")))) == original)

            let database = try SQLiteDatabase(path: cluster.folder.appendingPathComponent("meta.db").path)
            try database.execute("PRAGMA busy_timeout = 10000")
            let wrong: SQLValue = column == "sha256" ? .text(String(repeating: "0", count: 64)) : .integer(Int64(info.crc32c! ^ 1))
            let changed = try database.run("UPDATE files SET \(column) = ? WHERE name = 'f'", [wrong])
            #expect(changed == 1)
            let error = await #expect(throws: DFSError.self) {
                try await cluster.client.download(path, to: local.path("out"), verify: true)
            }
            #expect(error?.code == .checksumMismatch)
            #expect(error?.message.contains(column == "sha256" ? "SHA-256" : "CRC32C") == true)
            #expect(!FileManager.default.fileExists(atPath: local.path("out")))
            // Without the comparison the blocks' own checksums pass: the bytes are right.
            try await cluster.client.download(path, to: local.path("out"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: local.path("out")))) == original)
        }
    }
}
