import ArgumentParser
import DFSClient
import DFSCore
import DFSProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure dfs against this machine's disk and a local copy, in one run.",
        discussion: """
            Starts a meta server and three data nodes as processes on 127.0.0.1 in a temp
            folder, measures the baselines (dd with fsync, cp, cp -r, ls -l, stat) and dfs
            doing the same work, prints a table with ratios, and cleans up. The full run
            takes about 4 minutes and needs about 26 GiB of free disk (it checks first).
            Examples:
              dfs bench                     (1 GiB files, 10,000 small files, a 10 GiB upload)
              dfs bench --quick             (64 MiB, 500 files, 256 MiB)
              dfs bench --json bench.json
              dfs bench --scale             (the meta server with 1,000,000 files)
            """
    )

    @Flag(help: "A short run: 64 MiB files, 500 small files, a 256 MiB memory run.")
    var quick = false

    @Option(help: "Size of the file written and read.")
    var size: SizeArgument?

    @Option(help: "Number of 4 KiB files copied with cp -r.")
    var files: Int?

    @Option(help: "Size of the upload whose peak memory is measured.")
    var bigSize: SizeArgument?

    @Flag(help: "Measure the meta server at scale instead: list and stat among 1,000,000 files against 1,000.")
    var scale = false

    @Option(help: "Number of files in the --scale namespace.")
    var scaleFiles: Int?

    @Option(help: "Folder for the cluster and the test files (default: the system's temp folder).")
    var dir: String?

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    func validate() throws {
        if let files, !(1...1_000_000).contains(files) { throw ValidationError("--files must be 1 to 1000000") }
        if let scaleFiles, !(10_000...10_000_000).contains(scaleFiles) {
            throw ValidationError("--scale-files must be 10000 to 10000000")
        }
    }

    func run() async throws {
        try await reportingErrors("bench") {
            let fileBytes = size?.bytes ?? (quick ? 64 << 20 : 1 << 30)
            let smallFiles = files ?? (quick ? 500 : 10_000)
            let bigBytes = bigSize?.bytes ?? (quick ? 256 << 20 : 10 << 30)
            let root = URL(fileURLWithPath: dir ?? NSTemporaryDirectory()).appendingPathComponent("dfs-bench-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            if scale {
                defer { try? FileManager.default.removeItem(at: root) }
                let results = try await ScaleBench(root: root, totalFiles: scaleFiles ?? 1_000_000).run()
                printNow(Bench.table(results, setup: "a meta server on 127.0.0.1"))
                if let json { try makeJSONEncoder(pretty: true).encode(results).write(to: URL(fileURLWithPath: json)) }
                return
            }
            let bench = Bench(root: root, fileBytes: fileBytes, smallFiles: smallFiles, bigBytes: bigBytes, quick: quick)
            defer { bench.cleanUp() }
            try bench.checkFreeSpace()
            let results = try await bench.run()
            printNow(Bench.table(results))
            if let json {
                try Bench.json(results, bench: bench).write(to: URL(fileURLWithPath: json))
            }
        }
    }
}

/// One line of the benchmark's table.
struct BenchResult: Encodable {
    var name: String
    var value: Double
    var unit: String
    var baselineName: String?
    var baseline: Double?
    /// dfs against the baseline, oriented so that higher is better.
    var ratio: Double?
    var goal: String
    var met: Bool?
    /// Every round's figure, when `value` and `baseline` are medians of several.
    var runs: [Double]? = nil
    var baselineRuns: [Double]? = nil
}

final class Bench {
    let root: URL
    let fileBytes: Int
    let smallFiles: Int
    let bigBytes: Int
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    private var servers: [SpawnedProcess] = []
    private var metaEndpoint = ""

    private let started = ContinuousClock.now

    /// Rounds of the write and read comparisons, and the pause before each copy of them.
    let rounds: Int
    let settle: Duration

    init(root: URL, fileBytes: Int, smallFiles: Int, bigBytes: Int, quick: Bool = false) {
        self.root = root
        self.fileBytes = fileBytes
        self.smallFiles = smallFiles
        self.bigBytes = bigBytes
        rounds = quick ? 1 : 3
        settle = quick ? .zero : .seconds(3)
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func mib(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / 1_048_576 / max(seconds, 1e-6) }

    func run() async throws -> [BenchResult] {
        var results: [BenchResult] = []
        progress("writing a \(ByteSize.format(fileBytes)) test file and \(smallFiles) small files")
        try writeRandomFile(path("source"), bytes: fileBytes)
        try writeSmallFiles(path("small"), count: smallFiles)

        // Nothing written so far may still be on its way to the disk while something is timed.
        sync()

        progress("baselines: cp -r, ls -l, stat")
        let cpTree = try checked(ChildProcess.run(["/bin/cp", "-r", path("small"), path("small.copy")]), "cp -r")
        let cpTreeRate = Double(smallFiles) / cpTree.seconds
        let ls = try checked(ChildProcess.run(["/bin/ls", "-l", path("small")]), "ls -l")
        let localStat = try statLocal(path("small"), count: smallFiles)

        progress("starting a meta server and three data nodes")
        try await startCluster()
        let meta = metaEndpoint

        progress("dd and dfs uploads taking turns")
        // dd and the uploads take turns, each in the same conditions (see `afterWarmUp`).
        // The disk's rate is the better of two dd block sizes: on some virtual machines 64 KiB
        // writes fill the page cache much faster than 1 MiB ones (see PERFORMANCE.md); the
        // first round tries both, later rounds the faster. Each round's uploads get paths of
        // their own: deleting them would keep the data nodes busy in the next measurement.
        var ddRuns: [Double] = []
        var r1Runs: [Double] = []
        var r3Runs: [Double] = []
        var ddBlockSizes = ["1M", "64K"]
        for round in 0..<rounds {
            var best: (rate: Double, blockSize: String) = (0, "")
            for blockSize in ddBlockSizes {
                let seconds = try await afterWarmUp(
                    ["/bin/dd", "if=\(path("source"))", "of=\(path("dd.out"))", "bs=\(blockSize)", "conv=fsync", "status=none"], "dd",
                    output: path("dd.out"))
                let rate = Self.mib(fileBytes, seconds)
                if rate > best.rate { best = (rate, blockSize) }
            }
            ddBlockSizes = [best.blockSize]
            ddRuns.append(best.rate)
            r1Runs.append(
                Self.mib(
                    fileBytes,
                    try await afterWarmUp(
                        [executable, "cp", "-q", "--replication", "1", path("source"), "\(meta):/bench/r1-\(round)"], "dfs cp (R=1)")))
            r3Runs.append(
                Self.mib(
                    fileBytes,
                    try await afterWarmUp(
                        [executable, "cp", "-q", "--replication", "3", path("source"), "\(meta):/bench/r3-\(round)"], "dfs cp (R=3)")))
        }
        let ddRate = Self.median(ddRuns)
        let r1Rate = Self.median(r1Runs)
        let r3Rate = Self.median(r3Runs)
        // What a SHA-256 costs an upload (`cp --sha256`), once, in the same conditions.
        let sha256Rate = Self.mib(
            fileBytes,
            try await afterWarmUp(
                [executable, "cp", "-q", "--replication", "1", "--sha256", path("source"), "\(meta):/bench/sha256"], "dfs cp (--sha256)"))

        progress("local cp and download taking turns, cp -r, ls -l, stat")
        // The local cp and the download take turns, each in the same conditions (see
        // `afterWarmUp`); each side's median counts.
        var cpRuns: [Double] = []
        var readRuns: [Double] = []
        for _ in 0..<rounds {
            cpRuns.append(Self.mib(fileBytes, try await afterWarmUp(["/bin/cp", path("source"), path("cp.out")], "cp", output: path("cp.out"))))
            readRuns.append(
                Self.mib(
                    fileBytes,
                    try await afterWarmUp(
                        [executable, "cp", "-q", "\(meta):/bench/r1-0", path("read.out")], "dfs cp (download)", output: path("read.out"))))
        }
        let cpRate = Self.median(cpRuns)
        let readRate = Self.median(readRuns)
        let tree = try checked(ChildProcess.run([executable, "cp", "-q", "-r", "--replication", "1", path("small"), "\(meta):/small"]), "dfs cp -r")
        let list = try checked(ChildProcess.run([executable, "ls", "-l", "\(meta):/small"]), "dfs ls -l")
        let listed = list.output.split(separator: "\n").count
        guard listed == smallFiles else {
            throw DFSError(.internalError, "dfs ls -l listed \(listed) entries, expected \(smallFiles)")
        }
        let remoteStat = try await statRemote(count: smallFiles)

        progress("peak memory while uploading \(ByteSize.format(bigBytes))")
        try makeSparseFile(path("big"), bytes: bigBytes)
        let big = try checked(ChildProcess.run([executable, "cp", "-q", "--replication", "1", path("big"), "\(meta):/bench/big"]), "dfs cp (big)")
        unlink(path("big"))
        let serverPeaks = servers.map { ChildProcess.peakBytes(of: $0) }
        let peak = ([big.peakBytes] + serverPeaks).max() ?? 0

        let sizeText = ByteSize.format(fileBytes)
        let treeRate = Double(smallFiles) / tree.seconds
        let ofRounds = rounds > 1 ? ", median of \(rounds)" : ""
        results.append(
            BenchResult(
                name: "write \(sizeText), R=1\(ofRounds)", value: r1Rate, unit: "MiB/s", baselineName: "dd conv=fsync",
                baseline: ddRate, ratio: r1Rate / ddRate, goal: "≥ 0.8 × dd", met: r1Rate >= 0.8 * ddRate, runs: r1Runs, baselineRuns: ddRuns))
        results.append(
            BenchResult(
                name: "write \(sizeText), R=3\(ofRounds)", value: r3Rate, unit: "MiB/s", baselineName: "dd conv=fsync / 3",
                baseline: ddRate / 3, ratio: r3Rate / (ddRate / 3), goal: "≥ 0.8 × dd/3", met: r3Rate >= 0.8 * ddRate / 3,
                runs: r3Runs, baselineRuns: ddRuns.map { $0 / 3 }))
        results.append(
            BenchResult(
                name: "write \(sizeText), R=1, with --sha256", value: sha256Rate, unit: "MiB/s", baselineName: "dd conv=fsync",
                baseline: ddRate, ratio: sha256Rate / ddRate, goal: "-", met: nil))
        results.append(
            BenchResult(
                name: "read \(sizeText)\(ofRounds)", value: readRate, unit: "MiB/s",
                baselineName: "local cp", baseline: cpRate, ratio: readRate / cpRate, goal: "≥ 0.5 × cp", met: readRate >= 0.5 * cpRate,
                runs: readRuns, baselineRuns: cpRuns))
        results.append(
            BenchResult(
                name: "create \(smallFiles) × 4 KiB (cp -r, R=1)", value: treeRate, unit: "files/s", baselineName: "local cp -r",
                baseline: cpTreeRate, ratio: treeRate / cpTreeRate, goal: "≥ 2500 files/s", met: treeRate >= 2500))
        results.append(
            BenchResult(
                name: "ls -l of \(smallFiles) files", value: list.seconds, unit: "s", baselineName: "local ls -l",
                baseline: ls.seconds, ratio: ls.seconds / list.seconds, goal: "≤ 0.25 s", met: list.seconds <= 0.25))
        results.append(
            BenchResult(
                name: "stat of \(smallFiles) files (client library)", value: Double(smallFiles) / remoteStat, unit: "files/s",
                baselineName: "local stat(2)", baseline: Double(smallFiles) / localStat,
                ratio: localStat / remoteStat, goal: "-", met: nil))
        results.append(
            BenchResult(
                name: "peak memory, \(ByteSize.format(bigBytes)) upload", value: Double(peak) / 1_048_576, unit: "MiB",
                baselineName: "client \(big.peakBytes >> 20) MiB, servers " + serverPeaks.map { "\($0 >> 20)" }.joined(separator: "/") + " MiB",
                baseline: nil, ratio: nil, goal: "≤ 128 MiB each", met: peak <= 128 << 20))
        return results
    }

    // MARK: Cluster

    private func startCluster() async throws {
        let metaOutput = path("meta.out")
        servers.append(
            try ChildProcess.start(
                [executable, "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", path("meta.db"), "--heartbeat", "1s"],
                outputPath: metaOutput))
        let endpoint = try await listeningEndpoint(metaOutput)
        metaEndpoint = endpoint.description
        for index in 0..<3 {
            servers.append(
                try ChildProcess.start(
                    [executable, "serve-data", "--listen", "127.0.0.1:0", "--meta", metaEndpoint, "--dir", path("data\(index)")],
                    outputPath: path("data\(index).out")))
        }
        let client = DFSClient(meta: endpoint)
        defer { Task { await client.close() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.status().nodes.filter(\.alive).count < 3 {
            guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "the data nodes did not register within 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private func listeningEndpoint(_ outputPath: String) async throws -> Endpoint {
        try await Self.listeningEndpoint(outputPath)
    }

    /// The endpoint a server process printed it listens on.
    static func listeningEndpoint(_ outputPath: String) async throws -> Endpoint {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: outputPath, encoding: .utf8), let endpoint = try ListeningLine.endpoint(in: text) {
                return endpoint
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DFSError(.timeout, "the meta server did not start within 30 s")
    }

    /// Bytes the run writes at most: the test file and its copies (dd's, the warm-up's, the
    /// download's), every round's uploads at R=1 and R=3 and the `--sha256` one, the small
    /// files three times (source, local copy, cluster) and the memory run's upload.
    /// Saturates at Int.max rather than overflow on absurd sizes.
    var diskBytesNeeded: Int {
        let bytes = Double(fileBytes) * Double(4 + 4 * rounds) + Double(smallFiles) * 4096 * 3 + Double(bigBytes)
        return bytes >= Double(Int.max) ? Int.max : Int(bytes)
    }

    /// Fails before anything starts when the folder's file system cannot hold the run: a
    /// disk that fills up halfway would end it with a confusing error, and fill the disk.
    func checkFreeSpace() throws {
        var stats = statvfs()
        guard statvfs(root.path, &stats) == 0 else { return }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        guard free >= diskBytesNeeded else {
            throw DFSError(
                .unavailable,
                """
                the benchmark writes up to \(ByteSize.format(diskBytesNeeded)) in \(root.deletingLastPathComponent().path), \
                which has \(ByteSize.format(free)) free; use --dir elsewhere, or a smaller --size or --big-size
                """)
        }
    }

    func cleanUp() {
        // Data nodes first, so each can say goodbye to a meta server that is still there.
        for server in servers.reversed() { ChildProcess.stop(server) }
        servers = []
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: Work

    /// Runs one copy of the write or read comparison and returns its seconds, in conditions
    /// both sides share: a pause, then a warm-up file of the same size written and deleted,
    /// then the copy, whose local output (if any) is deleted after it.
    ///
    /// The pause and the warm-up are for virtual machines that hand freed memory back to
    /// their host (free page reporting, about 2 s after a free): filling memory handed back
    /// costs several times more than filling memory just freed (writing 1 GiB into the page
    /// cache, `cp` took 0.55 s into just-freed memory and 2.1-2.4 s into memory handed
    /// back). Without the pause, the handing back of an earlier step's memory could start in
    /// the middle of the copy measured; with it, that is done, and the warm-up frees the
    /// memory the copy then fills.
    private func afterWarmUp(_ arguments: [String], _ what: String, output: String? = nil) async throws -> Double {
        if let output { unlink(output) }
        try await Task.sleep(for: settle)
        _ = try checked(ChildProcess.run(["/bin/cp", path("source"), path("warm.out")]), "cp (warm-up)")
        unlink(path("warm.out"))
        let run = try checked(ChildProcess.run(arguments), what)
        if let output { unlink(output) }
        return run.seconds
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func checked(_ run: ChildRun, _ what: String) throws -> ChildRun {
        guard run.status == 0 else { throw DFSError(.internalError, "\(what) failed with status \(run.status)") }
        return run
    }

    private func progress(_ text: String) {
        printError("dfs bench: [\(Int((ContinuousClock.now - started).inSeconds)) s] \(text)")
    }

    private func writeRandomFile(_ path: String, bytes: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw DFSError(.ioError, "cannot create \(path)")
        }
        defer { try? handle.close() }
        var generator = SplitMix64(seed: 0x1234_5678)
        var chunk = [UInt64](repeating: 0, count: 1 << 17)
        var written = 0
        while written < bytes {
            for index in chunk.indices { chunk[index] = generator.next() }
            let count = min(chunk.count * 8, bytes - written)
            try chunk.withUnsafeBytes { try handle.write(contentsOf: Data($0.prefix(count))) }
            written += count
        }
    }

    private func writeSmallFiles(_ folder: String, count: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let content = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        for index in 0..<count {
            let name = String(format: "f%06d", index)
            guard FileManager.default.createFile(atPath: "\(folder)/\(name)", contents: content) else {
                throw DFSError(.ioError, "cannot create \(folder)/\(name)")
            }
        }
    }

    /// A file of `bytes` with no blocks on disk: reading it costs nothing, so the memory run
    /// measures dfs alone.
    private func makeSparseFile(_ path: String, bytes: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0, ftruncate(fd, off_t(bytes)) == 0 else { throw DFSError(.ioError, "cannot create \(path)") }
        close(fd)
    }

    private func statLocal(_ folder: String, count: Int) throws -> Double {
        let started = ContinuousClock.now
        var info = stat()
        for index in 0..<count {
            guard stat("\(folder)/\(String(format: "f%06d", index))", &info) == 0 else {
                throw DFSError(.ioError, "stat failed in \(folder)")
            }
        }
        return (ContinuousClock.now - started).inSeconds
    }

    private func statRemote(count: Int) async throws -> Double {
        let client = DFSClient(meta: try Endpoint(parsing: metaEndpoint))
        defer { Task { await client.close() } }
        let started = ContinuousClock.now
        for index in 0..<count {
            _ = try await client.stat(try DFSPath("/small/\(String(format: "f%06d", index))"))
        }
        return (ContinuousClock.now - started).inSeconds
    }

    // MARK: Output

    static func table(_ results: [BenchResult], setup: String = "3 data nodes on 127.0.0.1") -> String {
        func number(_ value: Double, _ unit: String) -> String {
            let digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3
            return String(format: "%.\(digits)f \(unit)", value)
        }
        var rows = [["measure", "dfs", "baseline", "ratio", "goal", "met"]]
        for result in results {
            let baseline = result.baseline.map { "\(result.baselineName ?? "") \(number($0, result.unit))" } ?? (result.baselineName ?? "")
            rows.append([
                result.name, number(result.value, result.unit), baseline,
                result.ratio.map { String(format: "%.2f", $0) } ?? "-", result.goal,
                result.met.map { $0 ? "yes" : "NO" } ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        func list(_ values: [Double]) -> String {
            values.map { number($0, "").trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        }
        for result in results {
            guard let runs = result.runs, runs.count > 1 else { continue }
            var line = "\(result.name): every round, dfs " + list(runs)
            if let baselineRuns = result.baselineRuns {
                line += "; \(result.baselineName ?? "baseline") " + list(baselineRuns)
            }
            lines.append(line + " \(result.unit)")
        }
        let header =
            "dfs bench \(Date().formatted(.iso8601)): \(setup), \(ProcessInfo.processInfo.activeProcessorCount) cores, "
            + "\(ByteSize.format(Int(ProcessInfo.processInfo.physicalMemory))) memory; ratio = dfs ÷ baseline, higher is better"
        return ([header] + lines).joined(separator: "\n")
    }

    static func json(_ results: [BenchResult], bench: Bench) throws -> Data {
        struct Report: Encodable {
            var date: String
            var cores: Int
            var memoryBytes: UInt64
            var fileBytes: Int
            var smallFiles: Int
            var bigBytes: Int
            var results: [BenchResult]
        }
        let report = Report(
            date: Date().formatted(.iso8601), cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory, fileBytes: bench.fileBytes, smallFiles: bench.smallFiles,
            bigBytes: bench.bigBytes, results: results)
        return try makeJSONEncoder(pretty: true).encode(report)
    }
}
