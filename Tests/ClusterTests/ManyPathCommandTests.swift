import DFSClient
import DFSCore
import DFSTesting
import Foundation
import Testing

/// `dfs stat` and `dfs cat` with many paths, through the built binary, as coreutils take them:
/// in order, a missing path named on standard error and skipped, exit 1 at the end.
@Suite struct ManyPathCommandTests {
    static func run(_ arguments: [String]) async throws -> DFSBinary.Result {
        try await DFSBinary.run(arguments)
    }

    /// Uploads small text files named `names` under `/m` and returns each one's content.
    static func upload(_ names: [String], cluster: TestCluster, local: TempFolder) async throws -> [String: String] {
        var contents: [String: String] = [:]
        for name in names {
            let text = "this is \(name)\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: local.path(name)))
            try await cluster.client.upload(localPath: local.path(name), to: try DFSPath("/m/\(name)"), options: UploadOptions(replication: 1))
            contents[name] = text
        }
        return contents
    }

    @Test func statShowsEachPathInOrderAndGoesOnPastAMissingOne() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await Self.upload(["a", "b"], cluster: cluster, local: local)
            let result = try await Self.run(["stat", "\(meta):/m/a", "\(meta):/m/missing", "\(meta):/m/b", "\(meta):/m"])
            #expect(result.status == 1)
            #expect(result.standardError == "dfs stat: no such file or folder: /m/missing\n")
            let blocks = result.standardOutput.components(separatedBy: "\n\n")
            #expect(blocks.count == 3, "\(result.standardOutput)")
            #expect(blocks.map { $0.split(separator: "\n").first.map(String.init) } == ["path:         /m/a", "path:         /m/b", "path:         /m"])
            #expect(blocks.first?.contains("size:         10 (10 B)") == true, "\(result.standardOutput)")
            #expect(blocks.last?.contains("type:         folder") == true)

            // Every path found: status 0, nothing on standard error.
            let found = try await Self.run(["stat", "\(meta):/m/a", "\(meta):/m/b"])
            #expect(found.status == 0)
            #expect(found.standardError.isEmpty)
        }
    }

    /// `--json` prints JSON Lines: one object per path that was found, in order, each on its
    /// own line, so `jq` reads the stream as it is.
    @Test func statJSONPrintsOneObjectPerLine() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await Self.upload(["a", "b", "c"], cluster: cluster, local: local)
            let result = try await Self.run(["stat", "--json", "\(meta):/m/a", "\(meta):/m/nope", "\(meta):/m/b", "\(meta):/m/c"])
            #expect(result.status == 1)
            #expect(result.standardError == "dfs stat: no such file or folder: /m/nope\n")
            let lines = result.standardOutput.split(separator: "\n")
            #expect(lines.count == 3)
            let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(objects.map { $0["path"] as? String } == ["/m/a", "/m/b", "/m/c"])
            #expect(objects.allSatisfy { $0["type"] as? String == "file" && $0["size"] as? Int == 10 })
            // The same decodes as the library's one JSON view of a file.
            let decoded = try lines.map { try JSONDecoder().decode(FileInfoJSON.self, from: Data($0.utf8)) }
            #expect(decoded.map(\.replication) == [1, 1, 1])
        }
    }

    /// 200 paths in one call: one process, one client, every path answered.
    @Test func statTakesTwoHundredPathsInOneCall() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let count = 200
        try FileManager.default.createDirectory(atPath: local.path("many"), withIntermediateDirectories: true)
        for index in 0..<count {
            try local.writeRandomFile("many/f\(index)", count: index, seed: UInt64(index))
        }
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            _ = try await cluster.client.uploadTree(localFolder: local.path("many"), to: try DFSPath("/many"), options: UploadOptions(replication: 1))
            let paths = (0..<count).map { "\(meta):/many/f\($0)" }
            let result = try await Self.run(["stat", "--json"] + paths)
            #expect(result.status == 0, "\(result.standardError)")
            let decoded = try result.standardOutput.split(separator: "\n").map { try JSONDecoder().decode(FileInfoJSON.self, from: Data($0.utf8)) }
            #expect(decoded.map(\.path) == (0..<count).map { "/many/f\($0)" })
            #expect(decoded.map(\.size) == Array(0..<count))
            let text = try await Self.run(["stat"] + paths)
            #expect(text.status == 0)
            #expect(text.standardOutput.components(separatedBy: "\n\n").count == count)
        }
    }

    @Test func catConcatenatesInOrderAndSkipsAMissingFile() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let contents = try await Self.upload(["one", "two", "three"], cluster: cluster, local: local)
            let result = try await Self.run(["cat", "\(meta):/m/three", "\(meta):/m/gone", "\(meta):/m/one", "\(meta):/m", "\(meta):/m/two"])
            #expect(result.status == 1)
            #expect(result.standardOutput == contents["three"]! + contents["one"]! + contents["two"]!)
            let errors = result.standardError.split(separator: "\n").map(String.init)
            #expect(errors.count == 2, "\(result.standardError)")
            #expect(errors.first == "dfs cat: no such file or folder: /m/gone")
            #expect(errors.last?.hasPrefix("dfs cat: ") == true && errors.last?.contains("/m is a folder") == true, "\(result.standardError)")

            let whole = try await Self.run(["cat", "\(meta):/m/one", "\(meta):/m/two"])
            #expect(whole.status == 0 && whole.standardError.isEmpty)
            #expect(whole.standardOutput == contents["one"]! + contents["two"]!)
        }
    }

    /// Small files come in batches (`readBlocks`), larger and empty ones otherwise, all in
    /// the order named; a small file whose only replica is corrupt falls back to its own
    /// read, which names it on standard error, and the rest still come out.
    @Test func catOfManySmallFilesKeepsTheirOrderAndNamesACorruptOne() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 2) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            var contents = try await Self.upload((0..<40).map { "s\($0)" }, cluster: cluster, local: local)
            // Text, as the command's output is read back as a string.
            let big = Array((0..<(300 * 1024)).map { UInt8(ascii: "a") + UInt8($0 % 26) })
            try Data(big).write(to: URL(fileURLWithPath: local.path("big")))
            try await cluster.client.upload(localPath: local.path("big"), to: try DFSPath("/m/big"), options: UploadOptions(replication: 1))
            try Data().write(to: URL(fileURLWithPath: local.path("empty")))
            try await cluster.client.upload(localPath: local.path("empty"), to: try DFSPath("/m/empty"), options: UploadOptions(replication: 1))
            contents["empty"] = ""
            let bad = try await cluster.client.stat(try DFSPath("/m/s7"))
            let replica = try #require(bad.blocks.first?.replicas.first)
            try ReplicationTests.corrupt(try #require(cluster.dataServer(replica.nodeID)), bad.blocks[0].blockID, at: 3)

            var names = (0..<40).reversed().map { "s\($0)" }
            names.insert("big", at: 10)
            names.insert("empty", at: 20)
            names.insert("missing", at: 30)
            let result = try await Self.run(["cat"] + names.map { "\(meta):/m/\($0)" })
            #expect(result.status == 1)
            var expected: [UInt8] = []
            for name in names where name != "s7" && name != "missing" {
                expected += name == "big" ? big : Array(contents[name]!.utf8)
            }
            // Compared as one Bool: a failed == of two 300 KiB arrays would have the test
            // library diff them, which takes minutes.
            let output = Array(result.standardOutput.utf8)
            let same = output == expected
            #expect(same, "\(output.count) bytes out, \(expected.count) expected; \(result.standardError)")
            let errors = result.standardError.split(separator: "\n").map(String.init)
            #expect(errors.count == 2, "\(result.standardError)")
            #expect(errors.contains("dfs cat: no such file or folder: /m/missing"))
            #expect(errors.contains { $0.hasPrefix("dfs cat: ") && $0.contains("checksum") }, "\(result.standardError)")

            // Through the library: the corrupt one is left to a read of its own, the big one
            // is not a batch's, the others' bytes are exact.
            let files = try await cluster.client.stat(names.filter { $0 != "missing" }.map { try DFSPath("/m/\($0)") }).map { try $0.get() }
            let small = await cluster.client.readSmallFiles(files)
            for (file, bytes) in zip(files, small) {
                switch file.info.path.name {
                case "s7", "big": #expect(bytes == nil, "\(file.info.path)")
                case let name: #expect(bytes == Array(contents[name]!.utf8), "\(file.info.path)")
                }
            }
        }
    }

    /// Paths on different clusters are refused before anything is printed.
    @Test func pathsOnDifferentClustersAreRefusedBeforeAnyOutput() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster(dataNodes: 1) { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await Self.upload(["a"], cluster: cluster, local: local)
            for command in ["stat", "cat"] {
                let result = try await Self.run([command, "\(meta):/m/a", "127.0.0.1:1:/m/a"])
                #expect(result.status == 1)
                #expect(result.standardOutput.isEmpty, "\(command)")
                #expect(result.standardError.contains("different clusters"), "\(command): \(result.standardError)")
            }
        }
    }

    /// A meta server that cannot be reached ends the command at once, with one line, rather
    /// than once per path.
    @Test func anUnreachableMetaServerStopsAtTheFirstPath() async throws {
        let port = try ReservedPort()
        defer { port.release() }
        let meta = "127.0.0.1:\(port.port)"
        let result = try await DFSBinary.run(["stat", "--retry-for", "0", "\(meta):/a", "\(meta):/b", "\(meta):/c"])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(result.standardError.contains("cannot connect"), "\(result.standardError)")
    }
}
