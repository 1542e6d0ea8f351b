import DFSClient
import DFSCore
import Foundation
import Testing

/// The one JSON view of a file that `ls --json` and `stat --json` print. The expected
/// texts are what both commands printed before they shared it: scripts depend on them.
@Suite struct FileInfoJSONTests {
    /// The encoder settings of the command line (`makeJSONEncoder`).
    static func text(_ value: FileInfoJSON) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    let file = FileInfo(
        path: try! DFSPath("/docs/a.pdf"), type: .file, size: 2_097_153, mtime: 1_700_000_000.5, replication: 3,
        blockBytes: 1_048_576, sha256: String(repeating: "ab", count: 32), crc32c: 4_000_000_000)
    let folder = FileInfo(path: try! DFSPath("/docs"), type: .dir, size: 0, mtime: 1_700_000_001, replication: 3, blockBytes: 0)

    @Test func aListedFileHasItsBlockSizeAndChecksums() throws {
        #expect(
            try Self.text(FileInfoJSON(listed: file)) == """
                {"blockSize":1048576,"crc32c":4000000000,"mtime":1700000000.5,"path":"/docs/a.pdf","replication":3,\
                "sha256":"\(String(repeating: "ab", count: 32))","size":2097153,"type":"file"}
                """)
    }

    @Test func aListedFolderHasReplicationZeroAndNoBlockSize() throws {
        #expect(
            try Self.text(FileInfoJSON(listed: folder)) == """
                {"mtime":1700000001,"path":"/docs","replication":0,"size":0,"type":"dir"}
                """)
    }

    @Test func aStatedFileHasItsBlocksAndTheirNodes() throws {
        let blocks = [
            BlockLocation(
                blockID: BlockID(7), blockIndex: 0, length: 1_048_576, checksum: 11,
                replicas: [NodeAddress(nodeID: NodeID("a"), address: Endpoint(host: "127.0.0.1", port: 7001))], token: "secret"),
            BlockLocation(blockID: BlockID(8), blockIndex: 1, length: 1, checksum: 12, replicas: []),
        ]
        #expect(
            try Self.text(FileInfoJSON(GetFileOK(info: file, blocks: blocks))) == """
                {"blockSize":1048576,"blocks":[{"crc32c":11,"id":7,"index":0,"length":1048576,"replicas":["127.0.0.1:7001"]},\
                {"crc32c":12,"id":8,"index":1,"length":1,"replicas":[]}],"crc32c":4000000000,"mtime":1700000000.5,\
                "path":"/docs/a.pdf","replication":3,"sha256":"\(String(repeating: "ab", count: 32))","size":2097153,"type":"file"}
                """)
    }

    /// `stat` leaves a folder's replication out, where `ls` prints 0.
    @Test func aStatedFolderHasNoReplicationAndNoBlocks() throws {
        #expect(
            try Self.text(FileInfoJSON(GetFileOK(info: folder, blocks: []))) == """
                {"blocks":[],"mtime":1700000001,"path":"/docs","size":0,"type":"dir"}
                """)
    }

    @Test func decodesWhatItEncodes() throws {
        let view = FileInfoJSON(GetFileOK(info: file, blocks: []))
        #expect(try JSONDecoder().decode(FileInfoJSON.self, from: Data(Self.text(view).utf8)) == view)
    }
}
