import DFSCore
import Testing

@testable import DFSMeta

/// A file version's entity tag and properties (the S3 gateway's ETag, content type and user
/// metadata), on each engine: stored when the version is completed, shown by getFile and
/// getFiles, the tag alone in listings, none kept by a new version, kept by a move.
@Suite struct PropertiesStoreTests {
    let node = NodeID("node-a")
    let properties = ["content-type": "text/plain; charset=utf-8", "x-amz-meta-owner": "Zoë \"quoted\" \\ back", "empty": ""]

    func complete(_ store: MetaStore, _ path: String, etag: String?, properties: [String: String]?) async throws {
        let fileID = try await store.createFile(path: try DFSPath(path), replication: 1, blockBytes: 4096, overwrite: true, now: 5)
        let blockID = try await store.addBlock(fileID: fileID, blockIndex: 0)
        try await store.completeFile(
            fileID: fileID, size: 3, blocks: [CommittedBlock(blockID: blockID, blockIndex: 0, length: 3, nodes: [node])], etag: etag,
            properties: properties, now: 6)
    }

    @Test(arguments: StoreKind.allCases) func tagAndPropertiesAreStoredWithTheVersion(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        try await complete(store, "/b/one", etag: "9e107d9d372bb6826bd81d3542a419d6", properties: properties)
        let one = try await store.getFile(path: try DFSPath("/b/one")).info
        #expect(one.etag == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(one.properties == properties)
        let both = try await store.getFiles(paths: [try DFSPath("/b/one"), try DFSPath("/b/missing")])
        #expect(try both[0].get().info.properties == properties)
        #expect(try both[0].get().info.etag == one.etag)
        let listed = try await store.list(path: try DFSPath("/b"), after: nil, limit: 10)
        #expect(listed.entries.map(\.etag) == [one.etag])
        #expect(listed.entries.allSatisfy { $0.properties == nil })

        // A new version has only its own; a move keeps them.
        try await complete(store, "/b/one", etag: nil, properties: nil)
        let replaced = try await store.getFile(path: try DFSPath("/b/one")).info
        #expect(replaced.etag == nil && replaced.properties == nil)
        try await complete(store, "/b/two", etag: "abc-2", properties: ["content-type": "image/png"])
        try await store.move(try DFSPath("/b/two"), to: try DFSPath("/b/moved"), now: 9)
        let moved = try await store.getFile(path: try DFSPath("/b/moved")).info
        #expect(moved.etag == "abc-2" && moved.properties == ["content-type": "image/png"])
    }

    /// A batch's files each get their own; one with a bad tag fails alone.
    @Test(arguments: StoreKind.allCases) func batchFilesEachGetTheirOwn(kind: StoreKind) async throws {
        let store = try await kind.makeStore(registering: [node], capacityBytes: 1 << 30)
        let paths = ["/c/a", "/c/b", "/c/bad"]
        let created = try await store.createFiles(
            paths.map { NewFile(path: try DFSPath($0), size: 4) }, replication: 1, blockBytes: 4096, overwrite: true, now: 7)
        let tags: [String?] = ["tag-a", nil, "has space"]
        let completions = try created.enumerated().map { index, result in
            let file = try result.get()
            return CompleteFile(
                fileID: file.fileID, size: 4, sha256: nil, blocks: [CommittedBlock(blockID: file.blockID!, blockIndex: 0, length: 4, nodes: [node])],
                etag: tags[index], properties: index == 0 ? ["k": "v\u{1}\u{7f}ü"] : nil)
        }
        let results = try await store.completeFiles(completions, now: 8)
        #expect((try? results[0].get()) != nil && (try? results[1].get()) != nil)
        #expect((try? results[2].get()) == nil)
        let a = try await store.getFile(path: try DFSPath("/c/a")).info
        #expect(a.etag == "tag-a" && a.properties == ["k": "v\u{1}\u{7f}ü"])
        let b = try await store.getFile(path: try DFSPath("/c/b")).info
        #expect(b.etag == nil && b.properties == nil)
        await #expect(throws: DFSError.self) { try await store.getFile(path: try DFSPath("/c/bad")) }
    }

    /// Tags and properties out of bounds are refused before they reach a store.
    @Test func boundsAreChecked() throws {
        func check(_ etag: String?, _ properties: [String: String]?) -> Bool {
            (try? FileInfo.checkETagAndProperties(etag: etag, properties: properties)) != nil
        }
        #expect(check("d41d8cd98f00b204e9800998ecf8427e", ["content-type": "a/b"]))
        #expect(check("d41d8cd98f00b204e9800998ecf8427e-10000", nil))
        #expect(!check("", nil))
        #expect(!check("\"quoted\"", nil))
        #expect(!check(String(repeating: "a", count: Limits.etagBytesMax + 1), nil))
        #expect(!check(nil, ["": "empty name"]))
        #expect(!check(nil, ["nul": "a\u{0}b"]))
        #expect(!check(nil, ["big": String(repeating: "x", count: Limits.propertiesBytesMax)]))
        #expect(check(nil, ["big": String(repeating: "x", count: Limits.propertiesBytesMax - 3)]))
        let many = Dictionary(uniqueKeysWithValues: (0...Limits.propertiesCountMax).map { ("k\($0)", "v") })
        #expect(!check(nil, many))
    }
}
