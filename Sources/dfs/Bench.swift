import ArgumentParser
import DFSClient
import DFSCore
import DFSProcess
import DFSSystem
import Foundation

final class Bench {
    let root: URL
    let fileBytes: Int
    let smallFiles: Int
    let bigBytes: Int
    /// Clients and files of the concurrent small-file phase (``SmallBench``), of 1 KiB each.
    let concurrentClients: Int
    let concurrentFiles: Int
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let cluster: BenchCluster
    /// The same cluster with a cluster secret, for the rows that cost TLS.
    let secureCluster: BenchCluster
    /// Where the PostgreSQL store rows' database comes from; while they run, its server (when
    /// the run started one) and the cluster whose meta server keeps its namespace there.
    let postgresSource: BenchPostgres.Source
    var postgres: BenchPostgres?
    var postgresCluster: BenchCluster?
    /// Lines printed below the table: rows skipped, and why.
    var notes: [String] = []

    let started = ContinuousClock.now

    /// Rounds of the write and read comparisons, and the pause before each copy of them.
    let rounds: Int
    let settle: Duration

    init(
        root: URL, fileBytes: Int, smallFiles: Int, bigBytes: Int, concurrentClients: Int = SmallBench.defaultClients,
        concurrentFiles: Int = SmallBench.defaultFiles, quick: Bool = false, postgres: BenchPostgres.Source = .throwaway
    ) {
        self.root = root
        self.fileBytes = fileBytes
        self.smallFiles = smallFiles
        self.bigBytes = bigBytes
        self.concurrentClients = concurrentClients
        self.concurrentFiles = concurrentFiles
        cluster = BenchCluster(root: root)
        secureCluster = BenchCluster(root: root.appendingPathComponent("secure"), secretFile: root.appendingPathComponent("secret").path)
        postgresSource = postgres
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

        progress("baselines: cp -r, ls -l")
        let cpTree = try checked(ChildProcess.run(["/bin/cp", "-r", path("small"), path("small.copy")]), "cp -r")
        let cpTreeRate = Double(smallFiles) / cpTree.seconds
        let ls = try checked(ChildProcess.run(["/bin/ls", "-l", path("small")]), "ls -l")

        progress("starting a meta server and three data nodes")
        try await cluster.start()
        let meta = cluster.endpoint.description

        progress("dd and dfs uploads taking turns")
        // dd and the uploads take turns, each in the same conditions (see `afterWarmUp`).
        // The disk's rate is the better of two dd block sizes: on some virtual machines 64 KiB
        // writes fill the page cache much faster than 1 MiB ones (see PERFORMANCE.md); the
        // first round tries both, later rounds the faster. Each round's uploads get paths of
        // their own: deleting them would keep the data nodes busy in the next measurement.
        var ddRuns: [Double] = []
        var r1Runs: [Double] = []
        var r3Runs: [Double] = []
        // CPU seconds per GiB of each run, every process together (the data nodes' included).
        var ddCPU: [Double] = []
        var r1CPU: [Double] = []
        var r3CPU: [Double] = []
        var ddBlockSizes = ["1M", "64K"]
        for round in 0..<rounds {
            var best: (rate: Double, blockSize: String, cpu: Double) = (0, "", 0)
            for blockSize in ddBlockSizes {
                let run = try await measuredAfterWarmUp(
                    ["/bin/dd", "if=\(path("source"))", "of=\(path("dd.out"))", "bs=\(blockSize)", "conv=fsync", "status=none"], "dd",
                    output: path("dd.out"))
                let rate = Self.mib(fileBytes, run.seconds)
                if rate > best.rate { best = (rate, blockSize, run.cpuPerGiB(fileBytes, nodes: false)) }
            }
            ddBlockSizes = [best.blockSize]
            ddRuns.append(best.rate)
            ddCPU.append(best.cpu)
            let r1 = try await measuredAfterWarmUp(
                [executable, "cp", "-q", "--replication", "1", path("source"), "\(meta):/bench/r1-\(round)"], "dfs cp (R=1)")
            r1Runs.append(Self.mib(fileBytes, r1.seconds))
            r1CPU.append(r1.cpuPerGiB(fileBytes))
            let r3 = try await measuredAfterWarmUp(
                [executable, "cp", "-q", "--replication", "3", path("source"), "\(meta):/bench/r3-\(round)"], "dfs cp (R=3)")
            r3Runs.append(Self.mib(fileBytes, r3.seconds))
            r3CPU.append(r3.cpuPerGiB(fileBytes))
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
        var cpCPU: [Double] = []
        var readCPU: [Double] = []
        for _ in 0..<rounds {
            let copy = try await measuredAfterWarmUp(["/bin/cp", path("source"), path("cp.out")], "cp", output: path("cp.out"))
            cpRuns.append(Self.mib(fileBytes, copy.seconds))
            cpCPU.append(copy.cpuPerGiB(fileBytes, nodes: false))
            let read = try await measuredAfterWarmUp(
                [executable, "cp", "-q", "\(meta):/bench/r1-0", path("read.out")], "dfs cp (download)", output: path("read.out"))
            readRuns.append(Self.mib(fileBytes, read.seconds))
            readCPU.append(read.cpuPerGiB(fileBytes))
        }
        let cpRate = Self.median(cpRuns)
        let readRate = Self.median(readRuns)
        let tree = try checked(ChildProcess.run([executable, "cp", "-q", "-r", "--replication", "1", path("small"), "\(meta):/small"]), "dfs cp -r")
        let treeOut = try checked(ChildProcess.run([executable, "cp", "-q", "-r", "\(meta):/small", path("small.back")]), "dfs cp -r (download)")
        let list = try checked(ChildProcess.run([executable, "ls", "-l", "\(meta):/small"]), "dfs ls -l")
        let listed = list.output.split(separator: "\n").count
        guard listed == smallFiles else {
            throw DFSError(.internalError, "dfs ls -l listed \(listed) entries, expected \(smallFiles)")
        }
        progress("stat through the client library, one after another and \(SmallBench.statCallers) at once")
        let statRows = try await SmallBench.statRows(
            endpoint: cluster.endpoint, remote: try (0..<smallFiles).map { try DFSPath(String(format: "/small/f%06d", $0)) },
            local: (0..<smallFiles).map { path("small") + String(format: "/f%06d", $0) })
        let concurrentRows = try await SmallBench(
            folder: root.appendingPathComponent("concurrent"), endpoint: cluster.endpoint, clients: concurrentClients, files: concurrentFiles,
            fileBytes: SmallBench.defaultFileBytes, progress: { [started] in Bench.progress($0, since: started) }
        ).writeAndRead()

        let mountRows = try await mountRows(
            MountBaselines(uploadRate: r1Rate, downloadRate: readRate, treeRate: Double(smallFiles) / tree.seconds, listSeconds: list.seconds))
        let secureRows = try await secretRows()
        let postgresRows = try await postgresStoreRows()
        let metricsRows = try await metricsRows(
            statPaths: try (0..<min(smallFiles, 2000)).map { try DFSPath(String(format: "/small/f%06d", $0)) })

        progress("peak memory while uploading \(ByteSize.format(bigBytes))")
        try makeSparseFile(path("big"), bytes: bigBytes)
        let big = try checked(ChildProcess.run([executable, "cp", "-q", "--replication", "1", path("big"), "\(meta):/bench/big"]), "dfs cp (big)")
        FileSystem.removeQuietly(path("big"))
        let serverPeaks = cluster.peakBytes
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
                baseline: ddRate / 3, ratio: r3Rate / (ddRate / 3), goal: "≥ 0.9 × dd/3", met: r3Rate >= 0.9 * ddRate / 3,
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
        // CPU per GiB: every process of the work together (client and data nodes), beside
        // the local program doing the same; ratio = local ÷ dfs, higher is better.
        let ddCPUValue = Self.median(ddCPU)
        for (name, runs, baselineName, baseline) in [
            ("CPU per GiB written, R=1 (client and nodes)", r1CPU, "dd conv=fsync", ddCPUValue),
            ("CPU per GiB written, R=3 (client and nodes)", r3CPU, "dd conv=fsync × 3", 3 * ddCPUValue),
            ("CPU per GiB read (client and nodes)", readCPU, "local cp", Self.median(cpCPU)),
        ] {
            let value = Self.median(runs)
            results.append(
                BenchResult(
                    name: name + ofRounds, value: value, unit: "s", baselineName: baselineName, baseline: baseline,
                    ratio: value > 0 ? baseline / value : nil, goal: "-", met: nil, runs: runs))
        }
        results.append(
            BenchResult(
                name: "create \(smallFiles) × 4 KiB (cp -r, R=1)", value: treeRate, unit: "files/s", baselineName: "local cp -r",
                baseline: cpTreeRate, ratio: treeRate / cpTreeRate, goal: "≥ 2500 files/s", met: treeRate >= 2500))
        let treeOutRate = Double(smallFiles) / treeOut.seconds
        results.append(
            BenchResult(
                name: "read \(smallFiles) × 4 KiB (cp -r out)", value: treeOutRate, unit: "files/s", baselineName: "dfs cp -r in",
                baseline: treeRate, ratio: treeOutRate / treeRate, goal: "≥ 8000 files/s, ≥ 0.9 × in",
                met: treeOutRate >= 8000 && treeOutRate >= 0.9 * treeRate))
        results.append(
            BenchResult(
                name: "ls -l of \(smallFiles) files", value: list.seconds, unit: "s", baselineName: "local ls -l",
                baseline: ls.seconds, ratio: ls.seconds / list.seconds, goal: "≤ 0.25 s", met: list.seconds <= 0.25))
        results += statRows
        results += mountRows
        results += concurrentRows
        results += secureRows
        results += postgresRows
        results += metricsRows
        results.append(
            BenchResult(
                name: "peak memory, \(ByteSize.format(bigBytes)) upload", value: Double(peak) / 1_048_576, unit: "MiB",
                baselineName: "client \(big.peakBytes >> 20) MiB, servers " + serverPeaks.map { "\($0 >> 20)" }.joined(separator: "/") + " MiB",
                baseline: nil, ratio: nil, goal: "≤ 128 MiB each", met: peak <= 128 << 20))
        return results
    }

    /// Bytes the run writes at most: the test file and its copies (dd's, the warm-up's, the
    /// download's), every round's uploads at R=1 and R=3 and the `--sha256` one, the mount's
    /// write (staged and uploaded), the small files eight times (source, local copy, cluster,
    /// download, the mount's two copies, each staged and uploaded), the concurrent phase's twice,
    /// every round's trees of the PostgreSQL store rows (one in each of two clusters), and the
    /// memory run's upload. Saturates at Int.max rather than overflow on absurd sizes.
    var diskBytesNeeded: Int {
        let postgresTrees = postgresSource == .skipped ? 0 : 2 * rounds
        let bytes =
            Double(fileBytes) * Double(6 + 6 * rounds) + Double(smallFiles) * 4096 * Double(12 + postgresTrees) + Double(bigBytes)
            + SmallBench.diskBytesNeeded(files: concurrentFiles, fileBytes: SmallBench.defaultFileBytes)
        return bytes >= Double(Int.max) ? Int.max : Int(bytes)
    }

    /// Fails before anything starts when the folder's file system cannot hold the run: a
    /// disk that fills up halfway would end it with a confusing error, and fill the disk.
    func checkFreeSpace() throws {
        guard let free = try? FileSystem.freeBytes(root.path) else { return }
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
        cluster.stop()
        secureCluster.stop()
        // The cluster before the database it keeps its namespace in.
        postgresCluster?.stop()
        postgres?.stop()
        try? FileSystem.removeTree(root.path)
    }
}

extension Bench {
    /// What a cluster secret costs (every connection TLS 1.3): uploads at R=1 and downloads
    /// on a second cluster with a secret, taking turns with the same work on the cluster
    /// without one; then a tree of small files in and out of each, in turns, the cluster
    /// going first changing from round to round.
    func secretRows() async throws -> [BenchResult] {
        progress("a cluster with a secret: uploads and downloads taking turns with the one without")
        try Data("a cluster secret for the benchmark, \(UUID().uuidString)\n".utf8).write(to: URL(fileURLWithPath: path("secret")))
        try FileManager.default.createDirectory(at: secureCluster.root, withIntermediateDirectories: true)
        try await secureCluster.start()
        defer { secureCluster.stop() }
        let meta = cluster.endpoint.description
        let secureMeta = secureCluster.endpoint.description
        let secret = secureCluster.secretArguments
        var plainWrites: [Double] = []
        var secureWrites: [Double] = []
        var plainWriteCPU: [Double] = []
        var secureWriteCPU: [Double] = []
        var plainReads: [Double] = []
        var secureReads: [Double] = []
        for round in 0..<rounds {
            let plainWrite = try await measuredAfterWarmUp(
                [executable, "cp", "-q", "--replication", "1", path("source"), "\(meta):/bench/plain-\(round)"], "dfs cp (R=1)")
            let secureWrite = try await measuredAfterWarmUp(
                [executable, "cp", "-q", "--replication", "1"] + secret + [path("source"), "\(secureMeta):/bench/r1-\(round)"],
                "dfs cp (R=1, secret)", on: secureCluster)
            plainWrites.append(Self.mib(fileBytes, plainWrite.seconds))
            secureWrites.append(Self.mib(fileBytes, secureWrite.seconds))
            plainWriteCPU.append(plainWrite.cpuPerGiB(fileBytes))
            secureWriteCPU.append(secureWrite.cpuPerGiB(fileBytes))
            plainReads.append(
                Self.mib(
                    fileBytes,
                    try await afterWarmUp(
                        [executable, "cp", "-q", "\(meta):/bench/plain-\(round)", path("read.out")], "dfs cp (download)", output: path("read.out"))))
            secureReads.append(
                Self.mib(
                    fileBytes,
                    try await afterWarmUp(
                        [executable, "cp", "-q"] + secret + ["\(secureMeta):/bench/r1-\(round)", path("read.out")], "dfs cp (download, secret)",
                        output: path("read.out"))))
        }
        progress("a cluster with a secret: \(smallFiles) small files in and out, taking turns with the one without")
        var plainTreeRates: [Double] = []
        var treeRates: [Double] = []
        var plainTreeOutRates: [Double] = []
        var treeOutRates: [Double] = []
        for round in 0..<rounds {
            // Each side's tree in and then out; which cluster goes first alternates, so that
            // neither always finds the local disk busy with the other's writes.
            for secure in round % 2 == 0 ? [false, true] : [true, false] {
                let target = secure ? secureMeta : meta
                let arguments = secure ? secret : []
                let name = secure ? " (secret)" : ""
                let remote = "\(target):/small-\(round)"
                let local = path("small.out")
                try? FileSystem.removeTree(local)
                sync()
                let treeIn = try checked(
                    ChildProcess.run([executable, "cp", "-q", "-r", "--replication", "1"] + arguments + [path("small"), remote]), "dfs cp -r" + name)
                let treeOut = try checked(ChildProcess.run([executable, "cp", "-q", "-r"] + arguments + [remote, local]), "dfs cp -r out" + name)
                try? FileSystem.removeTree(local)
                if secure {
                    treeRates.append(Double(smallFiles) / treeIn.seconds)
                    treeOutRates.append(Double(smallFiles) / treeOut.seconds)
                } else {
                    plainTreeRates.append(Double(smallFiles) / treeIn.seconds)
                    plainTreeOutRates.append(Double(smallFiles) / treeOut.seconds)
                }
            }
        }
        let sizeText = ByteSize.format(fileBytes)
        let ofRounds = rounds > 1 ? ", median of \(rounds)" : ""
        func row(_ name: String, _ value: Double, _ unit: String, _ baseline: Double, goal: Double, runs: [Double]? = nil, baselineRuns: [Double]? = nil)
            -> BenchResult
        {
            BenchResult(
                name: "with a secret (TLS): " + name, value: value, unit: unit, baselineName: "the same without a secret", baseline: baseline,
                ratio: value / baseline, goal: "≥ \(goal) × without", met: value >= goal * baseline, runs: runs, baselineRuns: baselineRuns)
        }
        // The client and the data node share this machine's cores: where they are all busy,
        // the CPU the encryption adds is what the upload loses.
        func cpuRow(_ runs: [Double], _ baselineRuns: [Double]) -> BenchResult {
            let value = Self.median(runs)
            let baseline = Self.median(baselineRuns)
            return BenchResult(
                name: "with a secret (TLS): CPU per GiB written, R=1 (client and node)\(ofRounds)", value: value, unit: "s",
                baselineName: "the same without a secret", baseline: baseline, ratio: value > 0 ? baseline / value : nil, goal: "-", met: nil,
                runs: runs, baselineRuns: baselineRuns)
        }
        return [
            row(
                "write \(sizeText), R=1\(ofRounds)", Self.median(secureWrites), "MiB/s", Self.median(plainWrites), goal: 0.85, runs: secureWrites,
                baselineRuns: plainWrites),
            cpuRow(secureWriteCPU, plainWriteCPU),
            row(
                "read \(sizeText)\(ofRounds)", Self.median(secureReads), "MiB/s", Self.median(plainReads), goal: 0.85, runs: secureReads,
                baselineRuns: plainReads),
            row(
                "create \(smallFiles) × 4 KiB (cp -r, R=1)\(ofRounds)", Self.median(treeRates), "files/s", Self.median(plainTreeRates), goal: 0.8,
                runs: treeRates, baselineRuns: plainTreeRates),
            row(
                "read \(smallFiles) × 4 KiB (cp -r out)\(ofRounds)", Self.median(treeOutRates), "files/s", Self.median(plainTreeOutRates),
                goal: 0.8, runs: treeOutRates, baselineRuns: plainTreeOutRates),
        ]
    }
}
