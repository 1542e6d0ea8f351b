import DFSClient
import DFSCore
import DFSSystem
import Foundation

/// Many clients writing and reading small files at once, against this machine doing the same
/// work on local files: `dfs bench --small`, and a phase of the full run.
///
/// Each of `clients` writers is a `DFSClient` of its own (its own connections, as separate
/// client processes would have) and creates files through the client library, every one
/// acknowledged only once it is durable; then as many readers read every file back in a
/// seeded random order. Locally, as many threads create the same files with an fsync each,
/// then read them back in the same order.
struct SmallBench {
    /// Most clients at once: each holds connections to the meta server and the data nodes
    /// (a few descriptors apiece), and 256 stay well within a server's `connectionsMax`.
    static let clientsMax = 256
    /// Most files: a million of them is the namespace `bench --scale` measures.
    static let filesMax = 1_000_000
    /// Largest file: what dfs treats as a small file (a tree copy sends files up to this
    /// size in batches).
    static let fileBytesMax = Limits.batchedFileBytesMax
    /// The workload, as `weed benchmark` runs it: 16 clients, 1 KiB files.
    static let defaultClients = 16
    static let defaultFiles = 20_000
    static let defaultFileBytes = 1024
    /// The order the readers read in, the same every run.
    static let readOrderSeed: UInt64 = 0x5EED_F11E

    let folder: URL
    let endpoint: Endpoint
    let clients: Int
    let files: Int
    let fileBytes: Int
    let progress: @Sendable (String) -> Void

    var remotePaths: [DFSPath] {
        get throws { try (0..<files).map { try DFSPath(String(format: "/concurrent/f%07d", $0)) } }
    }
    var localPaths: [String] { (0..<files).map { folder.appendingPathComponent(String(format: "local/f%07d", $0)).path } }

    /// Bytes a run writes: each file locally and in the cluster, each taking a 4 KiB block of
    /// the file system at least, and the source.
    static func diskBytesNeeded(files: Int, fileBytes: Int) -> Double {
        Double(files) * Double(max(fileBytes, 4096)) * 2 + Double(fileBytes)
    }

    /// Writes and reads, locally and through the cluster: six rows.
    func writeAndRead() async throws -> [BenchResult] {
        let content = SplitMix64.bytes(count: fileBytes, seed: 0xF11E)
        let source = folder.appendingPathComponent("source").path
        try FileSystem.makeFolders(folder.appendingPathComponent("local").path)
        try FileSystem.write(content, to: source)
        let local = localPaths
        let remote = try remotePaths
        let fileBytes = fileBytes
        var order = Array(0..<files)
        var generator = SplitMix64(seed: Self.readOrderSeed)
        order.shuffle(using: &generator)
        let readOrder = order
        sync()

        let sizeText = ByteSize.format(fileBytes)
        progress("local: \(clients) threads creating \(files) files of \(sizeText), with fsync each")
        let localWrite = try await BenchWorkers.threads(workers: clients, items: files) { index in
            let file = try OpenFile.createOrTruncate(local[index])
            defer { file.close() }
            try file.writeAll(content)
            try file.sync()
        }
        let dfsClients = (0..<clients).map { _ in DFSClient(meta: endpoint) }
        do {
            progress("dfs: \(clients) clients creating \(files) files of \(sizeText)")
            // One request each first, so connecting is not counted.
            _ = try await BenchWorkers.tasks(workers: clients, items: clients) { worker, _ in _ = try await dfsClients[worker].stat(.root) }
            let options = UploadOptions(replication: 1)
            let write = try await BenchWorkers.tasks(workers: clients, items: files) { worker, index in
                try await dfsClients[worker].upload(localPath: source, to: remote[index], options: options)
            }
            progress("local: \(clients) threads reading the files in random order")
            let localRead = try await BenchWorkers.threads(workers: clients, items: files) { item in
                let file = try OpenFile.openForReading(local[readOrder[item]])
                defer { file.close() }
                guard try file.readToEnd().count == fileBytes else { throw DFSError(.internalError, "\(local[readOrder[item]]) changed size") }
            }
            progress("dfs: \(clients) clients reading the files in random order")
            let read = try await BenchWorkers.tasks(workers: clients, items: files) { worker, item in
                let path = remote[readOrder[item]]
                let received = Mutex(0)
                try await dfsClients[worker].stream(path) { bytes in received.withLock { $0 += bytes.count } }
                guard received.withLock({ $0 }) == fileBytes else { throw DFSError(.internalError, "\(path) read back a different size") }
            }
            for client in dfsClients { await client.close() }
            let shape = "\(files) × \(sizeText) by \(clients) clients"
            let atGoalShape = clients == Self.defaultClients && fileBytes == Self.defaultFileBytes
            return Self.rows("small files: write \(shape), R=1", write, against: localWrite, "local, fsync each", goal: atGoalShape ? 10_000 : nil)
                + Self.rows("small files: read \(shape), random order", read, against: localRead, "local", goal: atGoalShape ? 30_000 : nil)
        } catch {
            for client in dfsClients { await client.close() }
            throw error
        }
    }

    /// A phase's three rows: files per second, then the median and 99th-percentile latency.
    static func rows(_ name: String, _ phase: BenchPhase, against local: BenchPhase, _ localName: String, goal: Double?) -> [BenchResult] {
        let rate = phase.itemsPerSecond
        let localRate = local.itemsPerSecond
        func latency(_ which: String, _ value: Double, _ baseline: Double) -> BenchResult {
            BenchResult(
                name: "\(name): latency \(which)", value: value * 1000, unit: "ms", baselineName: localName, baseline: baseline * 1000,
                ratio: baseline / max(value, 1e-9), goal: "-", met: nil)
        }
        return [
            BenchResult(
                name: name, value: rate, unit: "files/s", baselineName: localName, baseline: localRate, ratio: rate / max(localRate, 1e-9),
                goal: goal.map { "≥ \(Int($0)) files/s" } ?? "-", met: goal.map { rate >= $0 }),
            latency("p50", phase.latency.p50, local.latency.p50),
            latency("p99", phase.latency.p99, local.latency.p99),
        ]
    }
}
