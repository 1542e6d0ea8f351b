import DFSCore
import DFSNet
import DFSTesting
import Foundation
import Testing

@testable import DFSClient

/// `getFiles`: many files' metadata in one request, as `dfs stat` and `dfs cat` of many paths
/// use it through `DFSClient.stat(_:)` of an array.
@Suite struct ManyFilesStatTests {
    /// 300 files under paths of about 2,000 bytes, so that a reply for 256 of them would hold
    /// more than half a header: the meta server answers the first paths only, and the client
    /// asks again for the rest. Missing paths and a folder get their own answers, in order.
    @Test func manyPathsAnswerInOrderAcrossRepliesAndRequests() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let deep = (0..<8).map { String(repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))), count: 240) }.joined(separator: "/")
        try FileManager.default.createDirectory(atPath: local.path("tree/\(deep)"), withIntermediateDirectories: true)
        var sizes: [String: Int] = [:]
        for index in 0..<300 {
            let name = String(format: "f%03d", index)
            sizes[name] = try local.writeRandomFile("tree/\(deep)/\(name)", count: index % 7 * 100, seed: UInt64(index)).count
        }
        try await withCluster(dataNodes: 1) { cluster in
            _ = try await cluster.client.uploadTree(localFolder: local.path("tree"), to: try DFSPath("/t"), options: UploadOptions(replication: 1))
            var paths: [DFSPath] = []
            var expected: [String?] = []
            for index in 0..<300 {
                let name = String(format: "f%03d", index)
                paths.append(try DFSPath("/t/\(deep)/\(name)"))
                expected.append(name)
                if index % 6 == 0 {
                    paths.append(try DFSPath("/t/\(deep)/missing-\(index)"))
                    expected.append(nil)
                }
            }
            paths.append(try DFSPath("/t"))
            expected.append("t")

            // One request's reply stops short of the 256 paths asked for.
            let pool = ConnectionPool(role: .client)
            let first = try await pool.request(GetFiles(paths: Array(paths.prefix(256))), to: cluster.metaEndpoint, expecting: GetFilesOK.self)
            await pool.closeAll()
            #expect(first.files.count >= 1 && first.files.count < 256)

            let results = try await cluster.client.stat(paths)
            #expect(results.count == paths.count)
            for (position, (result, name)) in zip(results, expected).enumerated() {
                switch (result, name) {
                case (.success(let file), "t"):
                    #expect(file.info.type == .dir && file.info.path == paths[position])
                case (.success(let file), let name?):
                    #expect(file.info.path == paths[position])
                    #expect(file.info.size == sizes[name])
                case (.failure(let error), nil):
                    #expect(error.code == .notFound, "\(error.message)")
                default:
                    Issue.record("path \(position) (\(name ?? "missing")) got \(result)")
                }
            }
        }
    }

    /// A request of no paths, or of more than 256, is refused for that value alone: the
    /// connection stays open for the next request.
    @Test func requestsOutsideTheLimitsAreRefused() async throws {
        try await withCluster(dataNodes: 1) { cluster in
            let connection = try await Connection.open(to: cluster.metaEndpoint, role: .client, timeout: .seconds(5))
            let tooMany = try (0...Limits.pathsPerGetFilesMax).map { try DFSPath("/p\($0)") }
            let refused = try await connection.requestResult(GetFiles(paths: tooMany), expecting: GetFilesOK.self, timeout: .seconds(5))
            #expect(throws: DFSError.self) { try refused.get() }
            if case .failure(let error) = refused { #expect(error.code == .tooLarge) }
            let none = try await connection.requestResult(GetFiles(paths: []), expecting: GetFilesOK.self, timeout: .seconds(5))
            if case .failure(let error) = none { #expect(error.code == .invalidArgument) } else { Issue.record("no paths were answered") }
            let fine = try await connection.request(GetFiles(paths: [.root]), expecting: GetFilesOK.self, timeout: .seconds(5))
            #expect(fine.files.count == 1 && fine.files[0].file?.info.type == .dir)
            await connection.close()
        }
    }

    /// Many `stat` calls at once on one client share `getFiles` requests, and each caller
    /// still gets the answer for its own path: files, a folder, and missing paths.
    @Test func concurrentStatsShareRequestsAndEachGetsItsOwnAnswer() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try FileManager.default.createDirectory(atPath: local.path("tree"), withIntermediateDirectories: true)
        var sizes: [String: Int] = [:]
        for index in 0..<40 {
            sizes["f\(index)"] = try local.writeRandomFile("tree/f\(index)", count: index * 13, seed: UInt64(index)).count
        }
        try await withCluster(dataNodes: 1) { cluster in
            _ = try await cluster.client.uploadTree(localFolder: local.path("tree"), to: try DFSPath("/t"), options: UploadOptions(replication: 1))
            let client = DFSClient(meta: cluster.metaEndpoint)
            var names: [String?] = (0..<40).map { "f\($0)" } + (0..<8).map { _ in nil }
            names.append("t")
            let paths = try names.enumerated().map { index, name in
                try DFSPath(name == "t" ? "/t" : "/t/\(name ?? "missing-\(index)")")
            }
            // Rounds of every path at once, until some were answered together (the first
            // caller always goes alone, the others queue behind it).
            for _ in 0..<20 where client.stats.sharedRequests == 0 {
                let results = await withTaskGroup(of: (Int, Result<GetFileOK, DFSError>).self) { group in
                    for (index, path) in paths.enumerated() {
                        group.addTask {
                            do { return (index, .success(try await client.stat(path))) } catch { return (index, .failure(DFSError.wrap(error))) }
                        }
                    }
                    return await group.reduce(into: [Int: Result<GetFileOK, DFSError>]()) { $0[$1.0] = $1.1 }
                }
                for (index, name) in names.enumerated() {
                    switch (results[index], name) {
                    case (.success(let file)?, "t"):
                        #expect(file.info.type == .dir && file.info.path == paths[index])
                    case (.success(let file)?, let name?):
                        #expect(file.info.path == paths[index] && file.info.size == sizes[name])
                        #expect(file.blocks.count == (sizes[name] == 0 ? 0 : 1))
                    case (.failure(let error)?, nil):
                        #expect(error.code == .notFound)
                    default:
                        Issue.record("\(paths[index]) got \(String(describing: results[index]))")
                    }
                }
            }
            #expect(client.stats.sharedRequests > 0)
            await client.close()
        }
    }
}
