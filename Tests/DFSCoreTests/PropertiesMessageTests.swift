import DFSCore
import Testing

/// A file version's entity tag and properties on the wire: in `getFileOK` and
/// `completeFile`, and the tag in listing rows (a row without it reads as none).
@Suite struct PropertiesMessageTests {
    static func roundTrip<M: Message>(_ message: M) throws -> M {
        var decoder = FrameDecoder()
        decoder.append(try FrameEncoder.frame(message))
        return try #require(try decoder.nextFrame()).reply(M.self)
    }

    let properties = ["content-type": "text/plain", "x-amz-meta-name": "Zoë \"q\" \\ \u{1} ✓"]

    @Test func getFileAndCompleteFileCarryTagAndProperties() throws {
        var info = FileInfo(path: try DFSPath("/b/k"), type: .file, size: 3, mtime: 5, replication: 1, blockBytes: 1024, crc32c: 9)
        info.etag = "9e107d9d372bb6826bd81d3542a419d6-2"
        info.properties = properties
        let back = try Self.roundTrip(GetFileOK(info: info, blocks: []))
        #expect(back.info == info)
        let complete = CompleteFile(fileID: 4, size: 3, sha256: nil, blocks: [], etag: "abc", properties: properties)
        let completeBack = try Self.roundTrip(complete)
        #expect(completeBack.etag == "abc" && completeBack.properties == properties)
        let plain = try Self.roundTrip(
            GetFileOK(info: FileInfo(path: try DFSPath("/p"), type: .file, size: 0, mtime: 1, replication: 1, blockBytes: 1), blocks: []))
        #expect(plain.info.etag == nil && plain.info.properties == nil)
    }

    @Test func listingRowsCarryTheTagAndReadOlderRowsAsNone() throws {
        let folder = FileInfo(path: try DFSPath("/b"), type: .dir, size: 0, mtime: 1, replication: 0, blockBytes: 0)
        var tagged = FileInfo(path: try DFSPath("/b/one"), type: .file, size: 3, mtime: 5, replication: 1, blockBytes: 1024, etag: "t1")
        tagged.mode = 0o600
        let onlyTag = FileInfo(path: try DFSPath("/b/two"), type: .file, size: 4, mtime: 6, replication: 1, blockBytes: 1024, etag: "t2")
        let neither = FileInfo(path: try DFSPath("/b/three"), type: .file, size: 5, mtime: 7, replication: 1, blockBytes: 1024)
        let back = try Self.roundTrip(ListOK(info: folder, entries: [tagged, onlyTag, neither], more: false))
        #expect(back.entries.map(\.etag) == ["t1", "t2", nil])
        #expect(back.entries[0].mode == 0o600)
        // A row of version 10, attributes without a tag.
        let old = Frame(
            type: "listOK",
            header: Array(
                #"{"type":"listOK","body":{"info":{"path":"/b","type":"dir","size":0,"mtime":1,"replication":0,"blockBytes":0},"more":false,"entries":[["a","file",1,2,1,1024,null,null,[420,null,null,null]]]}}"#
                    .utf8), payload: [])
        let decoded = try old.reply(ListOK.self)
        #expect(decoded.entries[0].mode == 420 && decoded.entries[0].etag == nil)
    }
}
