import DFSClient
import DFSCore
import DFSSystem
import Foundation

extension SmallBench {
    /// Callers of the concurrent `stat` row: the 16.
    static let statCallers = 16

    /// `stat` of `remote` through the client library, one after another from one client, then
    /// from ``statCallers`` tasks at once sharing one client (as a mount or a gateway would:
    /// one process, many requests at once); beside `stat(2)` of `local` one after another and
    /// from as many threads at once. Two rows.
    static func statRows(endpoint: Endpoint, remote: [DFSPath], local: [String]) async throws -> [BenchResult] {
        precondition(!remote.isEmpty && !local.isEmpty, "stat needs files to measure")
        let client = DFSClient(meta: endpoint)
        let sequential: Double
        let concurrent: BenchPhase
        do {
            // As many requests at once first, so that opening the connections is not counted.
            _ = try await BenchWorkers.tasks(workers: statCallers, items: statCallers) { _, _ in _ = try await client.stat(.root) }
            sequential = try await statsPerSecond(client, remote)
            concurrent = try await BenchWorkers.tasks(workers: statCallers, items: remote.count) { _, item in _ = try await client.stat(remote[item]) }
            await client.close()
        } catch {
            await client.close()
            throw error
        }
        let started = ContinuousClock.now
        for path in local { _ = try FileSystem.status(path) }
        let localSequential = Double(local.count) / (ContinuousClock.now - started).inSeconds
        let localConcurrent = try await BenchWorkers.threads(workers: statCallers, items: local.count) { _ = try FileSystem.status(local[$0]) }
        return [
            BenchResult(
                name: "stat of \(remote.count) files (client library)", value: sequential, unit: "files/s", baselineName: "local stat(2)",
                baseline: localSequential, ratio: sequential / localSequential, goal: "≥ 15000 files/s", met: sequential >= 15_000),
            BenchResult(
                name: "stat of \(remote.count) files, \(statCallers) callers at once (client library)", value: concurrent.itemsPerSecond,
                unit: "files/s", baselineName: "local stat(2), \(statCallers) threads", baseline: localConcurrent.itemsPerSecond,
                ratio: concurrent.itemsPerSecond / localConcurrent.itemsPerSecond, goal: "≥ 40000 files/s", met: concurrent.itemsPerSecond >= 40_000),
        ]
    }

    /// `stat` of every path through `client`, one after another, in stats per second: how the
    /// one-caller `stat` rows measure, `client` having made a request before (its connection
    /// open, so that connecting is not counted).
    static func statsPerSecond(_ client: DFSClient, _ paths: [DFSPath]) async throws -> Double {
        let started = ContinuousClock.now
        for path in paths { _ = try await client.stat(path) }
        return Double(paths.count) / (ContinuousClock.now - started).inSeconds
    }

    /// `dfs bench --small`: a cluster of its own, the writes and reads, and the two `stat`
    /// rows over the files written.
    static func run(root: URL, clients: Int, files: Int, fileBytes: Int) async throws -> [BenchResult] {
        let needed = diskBytesNeeded(files: files, fileBytes: fileBytes)
        if let free = try? FileSystem.freeBytes(root.path), Double(free) < needed {
            throw DFSError(
                .unavailable,
                "the benchmark writes up to \(ByteSize.format(Int(min(needed, 1e18)))) in \(root.deletingLastPathComponent().path), which has \(ByteSize.format(free)) free; use --dir elsewhere, or fewer --files"
            )
        }
        let started = ContinuousClock.now
        let progress: @Sendable (String) -> Void = { Bench.progress($0, since: started) }
        let cluster = BenchCluster(root: root)
        defer { cluster.stop() }
        progress("starting a meta server and three data nodes")
        try await cluster.start()
        let bench = SmallBench(folder: root, endpoint: cluster.endpoint, clients: clients, files: files, fileBytes: fileBytes, progress: progress)
        var results = try await bench.writeAndRead()
        progress("stat through the client library, one after another and \(statCallers) at once")
        results += try await statRows(endpoint: cluster.endpoint, remote: try bench.remotePaths, local: bench.localPaths)
        return results
    }

    /// The JSON `dfs bench --small --json FILE` writes: the run's shape and its rows.
    static func json(_ results: [BenchResult], clients: Int, files: Int, fileBytes: Int) throws -> Data {
        struct Report: Encodable {
            var date: String
            var cores: Int
            var memoryBytes: UInt64
            var clients: Int
            var files: Int
            var fileBytes: Int
            var results: [BenchResult]
        }
        let report = Report(
            date: Date().formatted(.iso8601), cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory, clients: clients, files: files, fileBytes: fileBytes, results: results)
        return try makeJSONEncoder(pretty: true).encode(report)
    }
}
