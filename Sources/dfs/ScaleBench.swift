import DFSClient
import DFSCore
import DFSMeta
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The meta server at scale: the cost of listing a folder and of `stat` in a namespace of
/// `totalFiles` files (a folder of `bigFolder` entries among them), against the same in a
/// namespace of 1,000 files. Namespaces are imported straight into the database; each is
/// then served by a real `dfs serve-meta` process and measured through the client library.
final class ScaleBench {
    let root: URL
    let totalFiles: Int
    let bigFolder: Int
    let smallFiles = 1_000
    let statCount = 2_000
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path

    init(root: URL, totalFiles: Int) {
        self.root = root
        self.totalFiles = totalFiles
        bigFolder = max(smallFiles, totalFiles / 10)
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    struct Measure {
        var listSeconds: Double
        var listed: Int
        var statSeconds: Double
        var stats: Int
        var perEntry: Double { listSeconds / Double(max(listed, 1)) }
        var perStat: Double { statSeconds / Double(max(stats, 1)) }
    }

    func run() async throws -> [BenchResult] {
        progress("importing 1,000 files")
        let small = path("small.db")
        try await populate(small, folders: [("/s", smallFiles)])
        progress("importing \(totalFiles) files (one folder of \(bigFolder), the rest in folders of 1,000)")
        let big = path("big.db")
        var folders = [("/big", bigFolder)]
        var remaining = totalFiles - bigFolder
        var index = 0
        while remaining > 0 {
            folders.append((String(format: "/rest/d%05d", index), min(1_000, remaining)))
            remaining -= 1_000
            index += 1
        }
        try await populate(big, folders: folders)

        progress("measuring the 1,000-file namespace")
        let atSmall = try await measure(database: small, folder: "/s", statPaths: (0..<statCount).map { "/s/" + name($0 % smallFiles) })
        progress("measuring the \(totalFiles)-file namespace")
        var generator = SplitMix64(seed: 42)
        let statPaths = (0..<statCount).map { _ -> String in
            let pick = Int(generator.next() % UInt64(folders.count))
            let folder = folders[pick]
            return folder.0 + "/" + name(Int(generator.next() % UInt64(folder.1)))
        }
        let atBig = try await measure(database: big, folder: "/big", statPaths: statPaths)

        let listRatio = atBig.perEntry / atSmall.perEntry
        let statRatio = atBig.perStat / atSmall.perStat
        return [
            BenchResult(
                name: "list with details, per entry: \(bigFolder)-entry folder, \(totalFiles) files", value: atBig.perEntry * 1e6,
                unit: "µs", baselineName: "\(smallFiles)-entry folder, \(smallFiles) files", baseline: atSmall.perEntry * 1e6,
                ratio: 1 / listRatio, goal: "≤ 2 × the cost at 1,000", met: listRatio <= 2),
            BenchResult(
                name: "stat, \(totalFiles) files (client library)", value: atBig.perStat * 1e6, unit: "µs",
                baselineName: "\(smallFiles) files", baseline: atSmall.perStat * 1e6,
                ratio: 1 / statRatio, goal: "≤ 2 × the cost at 1,000", met: statRatio <= 2),
        ]
    }

    private func name(_ index: Int) -> String { String(format: "f%07d", index) }

    private func populate(_ database: String, folders: [(String, Int)]) async throws {
        let store = try MetaStore(path: database)
        let node = NodeID("bench-node")
        var batch: [MetaStore.ImportedFile] = []
        for (folder, count) in folders {
            for index in 0..<count {
                batch.append(
                    MetaStore.ImportedFile(
                        path: try DFSPath(folder + "/" + name(index)), size: 4096, checksum: UInt32(truncatingIfNeeded: index), nodes: [node]))
                if batch.count == 20_000 {
                    try await store.importFiles(batch, now: 1_700_000_000)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        if !batch.isEmpty { try await store.importFiles(batch, now: 1_700_000_000) }
        try await store.waitUntilDurable()
    }

    /// Serves `database` with a meta server process, lists `folder` whole and stats each of
    /// `statPaths`, one request at a time.
    private func measure(database: String, folder: String, statPaths: [String]) async throws -> Measure {
        let output = database + ".out"
        let server = try ChildProcess.start(
            [executable, "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", database], outputPath: output)
        defer { ChildProcess.stop(server) }
        let endpoint = try await BenchCluster.listeningEndpoint(output)
        let client = DFSClient(meta: endpoint)
        defer { Task { await client.close() } }
        // One request first, so connecting is not counted.
        _ = try await client.stat(try DFSPath(statPaths[0]))
        var listed = 0
        let listStart = ContinuousClock.now
        _ = try await client.listPages(try DFSPath(folder)) { page in listed += page.count }
        let listSeconds = (ContinuousClock.now - listStart).inSeconds
        let statStart = ContinuousClock.now
        for path in statPaths {
            _ = try await client.stat(try DFSPath(path))
        }
        let statSeconds = (ContinuousClock.now - statStart).inSeconds
        return Measure(listSeconds: listSeconds, listed: listed, statSeconds: statSeconds, stats: statPaths.count)
    }

    private func progress(_ text: String) {
        printError("dfs bench: \(text)")
    }
}
