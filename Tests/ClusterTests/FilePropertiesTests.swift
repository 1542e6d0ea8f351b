import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Testing

/// A file version's entity tag and properties through the client against a real cluster:
/// given at upload (whole file or streamed), shown by stat and getFiles, the tag in listings.
@Suite struct FilePropertiesTests {
    @Test func tagAndPropertiesGivenAtUploadAreShown() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        _ = try local.writeRandomFile("f", count: 300_000, seed: 3)
        try await withCluster { cluster in
            let properties = ["content-type": "application/octet-stream", "x-amz-meta-k": "v"]
            let path = try DFSPath("/bucket/a/key")
            _ = try await cluster.client.upload(
                localPath: local.path("f"), to: path,
                options: UploadOptions(blockBytes: 128 * 1024, etag: "0123456789abcdef0123456789abcdef", properties: properties))
            let info = try await cluster.client.stat(path).info
            #expect(info.etag == "0123456789abcdef0123456789abcdef" && info.properties == properties)
            let page = try await cluster.client.listPage(try DFSPath("/bucket/a"), after: nil, limit: 10)
            #expect(page.entries.map(\.etag) == ["0123456789abcdef0123456789abcdef"])
            #expect(page.entries.allSatisfy { $0.properties == nil })

            // Streamed: the tag given at the end, as a gateway computes it.
            let streamed = try DFSPath("/bucket/streamed")
            let upload = try await StreamingUpload.start(client: cluster.client, path: streamed, options: UploadOptions(blockBytes: 512 * 1024))
            let written = try await upload.finish(size: 300_000, localPath: local.path("f"), etag: "tag-2", properties: ["content-type": "text/x"])
            #expect(written.etag == "tag-2" && written.properties == ["content-type": "text/x"])
            #expect(try await cluster.client.stat(streamed).info.etag == "tag-2")

            // Another version without them has none.
            _ = try await cluster.client.upload(localPath: local.path("f"), to: path, options: UploadOptions(blockBytes: 128 * 1024))
            let replaced = try await cluster.client.stat(path).info
            #expect(replaced.etag == nil && replaced.properties == nil)
        }
    }
}
