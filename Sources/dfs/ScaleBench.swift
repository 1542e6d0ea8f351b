import DFSClient
import DFSCore
import DFSMeta
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The meta server at scale: the cost of listing a folder, of `stat` and of `status` in a
/// namespace of `totalFiles` files (a folder of `bigFolder` entries among them), and the CPU
/// its repair loop takes, against the same in a namespace of 1,000 files. Namespaces are
/// imported straight into the database; each is then served by a real `dfs serve-meta`
/// process and measured through the client library.
final class ScaleBench {
    let root: URL
    let totalFiles: Int
    let bigFolder: Int
    let smallFiles = 1_000
    let statCount = 2_000
    let statusCount = 200
    /// The meta server's repair loop runs this often in the measurement (its fastest, as
    /// with `--heartbeat 200ms`), so that its cost per pass shows five times a second.
    let repairInterval = "200ms"
    /// How long the idle meta server's CPU time is watched while its repair loop runs.
    let idleSeconds = 5.0
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
        var statusSeconds: Double
        var statuses: Int
        /// CPU seconds the meta server took per second while idle with its repair loop running.
        var repairCPUPerSecond: Double
        var perEntry: Double { listSeconds / Double(max(listed, 1)) }
        var perStat: Double { statSeconds / Double(max(stats, 1)) }
        var perStatus: Double { statusSeconds / Double(max(statuses, 1)) }
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
        // Both repair figures are near zero when the loop costs nothing: a millisecond per
        // second of slack keeps timer noise from deciding the row.
        let repairMet = atBig.repairCPUPerSecond <= 2 * atSmall.repairCPUPerSecond + 0.001
        return [
            BenchResult(
                name: "list with details, per entry: \(bigFolder)-entry folder, \(totalFiles) files", value: atBig.perEntry * 1e6,
                unit: "µs", baselineName: "\(smallFiles)-entry folder, \(smallFiles) files", baseline: atSmall.perEntry * 1e6,
                ratio: 1 / listRatio, goal: "≤ 2 × the cost at 1,000", met: listRatio <= 2),
            BenchResult(
                name: "stat, \(totalFiles) files (client library)", value: atBig.perStat * 1e6, unit: "µs",
                baselineName: "\(smallFiles) files", baseline: atSmall.perStat * 1e6,
                ratio: 1 / statRatio, goal: "≤ 2 × the cost at 1,000", met: statRatio <= 2),
            BenchResult(
                name: "status, \(totalFiles) blocks (client library)", value: atBig.perStatus * 1e6, unit: "µs",
                baselineName: "\(smallFiles) blocks", baseline: atSmall.perStatus * 1e6,
                ratio: atSmall.perStatus / atBig.perStatus, goal: "≤ 5 ms", met: atBig.perStatus <= 0.005),
            BenchResult(
                name: "repair loop CPU per second, idle, a pass every \(repairInterval), \(totalFiles) blocks", value: atBig.repairCPUPerSecond * 1e3,
                unit: "ms/s", baselineName: "\(smallFiles) blocks", baseline: atSmall.repairCPUPerSecond * 1e3,
                ratio: atBig.repairCPUPerSecond > 0 ? atSmall.repairCPUPerSecond / atBig.repairCPUPerSecond : nil,
                goal: "flat: ≤ 2 × the cost at 1,000 + 1 ms/s", met: repairMet),
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

    /// Serves `database` with a meta server process, lists `folder` whole, stats each of
    /// `statPaths` and asks for `status`, one request at a time; then watches the server's CPU
    /// time while it is idle but for its repair loop. Every replica is on a node that never
    /// registers, so every block is missing: the most the loop's index can hold.
    private func measure(database: String, folder: String, statPaths: [String]) async throws -> Measure {
        let output = database + ".out"
        let started = ContinuousClock.now
        // Dead-after is the start-up quiet period, after which the repair loop runs.
        let server = try ChildProcess.start(
            [
                executable, "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", database, "--heartbeat", repairInterval,
                "--dead-after", "1s",
            ], outputPath: output)
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
        _ = try await client.status()
        let statusStart = ContinuousClock.now
        for _ in 0..<statusCount {
            _ = try await client.status()
        }
        let statusSeconds = (ContinuousClock.now - statusStart).inSeconds
        try await Task.sleep(until: started + .seconds(2))
        let cpuBefore = Self.cpuSeconds(of: server.processIdentifier)
        let idleStart = ContinuousClock.now
        try await Task.sleep(for: .seconds(idleSeconds))
        let idle = (ContinuousClock.now - idleStart).inSeconds
        let repairCPU = (Self.cpuSeconds(of: server.processIdentifier) - cpuBefore) / idle
        return Measure(
            listSeconds: listSeconds, listed: listed, statSeconds: statSeconds, stats: statPaths.count, statusSeconds: statusSeconds,
            statuses: statusCount, repairCPUPerSecond: repairCPU)
    }

    /// CPU time a process has run so far, every thread's, in seconds: the first field of each
    /// thread's /proc schedstat (nanoseconds on the CPU), finer than the 10 ms ticks of
    /// /proc/PID/stat.
    static func cpuSeconds(of process: Int32) -> Double {
        let tasks = "/proc/\(process)/task"
        let threads = (try? FileSystem.contentsOfFolder(tasks)) ?? []
        let nanoseconds = threads.reduce(0) { total, thread in
            let text = String(decoding: (try? FileSystem.contents(of: "\(tasks)/\(thread)/schedstat")) ?? [], as: UTF8.self)
            return total + (text.split(separator: " ").first.flatMap { Int($0) } ?? 0)
        }
        return Double(nanoseconds) / 1e9
    }

    private func progress(_ text: String) {
        printError("dfs bench: \(text)")
    }
}
