import ArgumentParser
import DFSClient
import DFSCore
import DFSPostgres
import DFSProcess
import DFSSystem
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure dfs against this machine's disk and a local copy, in one run.",
        discussion: """
            Starts a meta server and three data nodes as processes on 127.0.0.1 in a temp
            folder, measures the baselines (dd with fsync, cp, cp -r, ls -l, stat) and dfs
            doing the same work, prints a table with ratios, and cleans up. The full run
            takes about 5 minutes, a minute or two more with the PostgreSQL rows, and needs
            about 26 GiB of free disk (it checks first).
            It includes the concurrent small-file phase that --small runs alone: --clients
            writers create 20,000 files of 1 KiB through the client library (each durable
            before it is acknowledged), then as many readers read them in random order,
            beside local files written with an fsync each and read back by as many threads.
            When PostgreSQL's server programs are installed (`make deps`), it also starts a
            throwaway PostgreSQL server (fsync on) and a second cluster whose meta server keeps
            its namespace there, and compares it with SQLite: cp -r in, stat and ls -l of the
            small files. --postgres names a database to use instead (one of its own: the
            meta server creates its tables there); --no-postgres skips these rows.
            Examples:
              dfs bench                     (1 GiB files, 10,000 small files, a 10 GiB upload)
              dfs bench --quick             (64 MiB, 500 files, 256 MiB)
              dfs bench --json bench.json
              dfs bench --postgres postgres://dfs@127.0.0.1:5432/dfs_bench
              dfs bench --small             (16 clients, 20,000 files of 1 KiB; about a minute)
              dfs bench --small --clients 64 --files 100000 --size 4KiB
              dfs bench --scale             (the meta server with 1,000,000 files)
            """
    )

    @Flag(help: "A short run: 64 MiB files, 500 small files, a 256 MiB memory run.")
    var quick = false

    @Option(help: "Size of the file written and read; with --small, of each small file (default 1KiB).")
    var size: SizeArgument?

    @Option(help: "Number of 4 KiB files copied with cp -r, and of the concurrent phase's files; with --small, of its files.")
    var files: Int?

    @Flag(help: "Measure many clients writing and reading small files at once, and stat, instead.")
    var small = false

    @Option(help: "Clients of the concurrent small-file phase (default \(SmallBench.defaultClients)).")
    var clients: Int?

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

    @Option(
        help: ArgumentHelp(
            "Run the PostgreSQL store rows against this database instead of a throwaway server.",
            discussion: "The meta server creates its tables there; the run's files go in a folder of their own, removed at the end.",
            valueName: "postgres://user@host:port/dbname"))
    var postgres: String?

    @Flag(help: "Skip the PostgreSQL store rows.")
    var noPostgres = false

    func validate() throws {
        if let files, !(1...SmallBench.filesMax).contains(files) { throw ValidationError("--files must be 1 to \(SmallBench.filesMax)") }
        if let clients, !(1...SmallBench.clientsMax).contains(clients) {
            throw ValidationError("--clients must be 1 to \(SmallBench.clientsMax)")
        }
        if small {
            if scale || quick || bigSize != nil || scaleFiles != nil {
                throw ValidationError("--small is a run of its own; it takes --clients, --files, --size, --dir and --json")
            }
            if let size, !(0...SmallBench.fileBytesMax).contains(size.bytes) {
                throw ValidationError("--size with --small must be 0 to \(ByteSize.format(SmallBench.fileBytesMax)) (a small file)")
            }
        }
        if scale && clients != nil { throw ValidationError("--clients goes with the full run or --small, not --scale") }
        if (small || scale) && (postgres != nil || noPostgres) {
            throw ValidationError("--postgres and --no-postgres go with the full run, not --small or --scale")
        }
        if let postgres {
            guard !noPostgres else { throw ValidationError("--postgres names the database of rows that --no-postgres skips: give one of them") }
            do {
                try PostgresURI.validate(postgres)
            } catch {
                throw ValidationError("--postgres: \(error.message)")
            }
        }
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
            try FileSystem.makeFolders(root.path)
            if scale {
                defer { try? FileSystem.removeTree(root.path) }
                let results = try await ScaleBench(root: root, totalFiles: scaleFiles ?? 1_000_000).run()
                printNow(Bench.table(results, setup: "a meta server on 127.0.0.1"))
                if let json { try FileSystem.write(Array(makeJSONEncoder(pretty: true).encode(results)), to: json) }
                return
            }
            if small {
                defer { try? FileSystem.removeTree(root.path) }
                let clients = clients ?? SmallBench.defaultClients
                let files = files ?? SmallBench.defaultFiles
                let fileBytes = size?.bytes ?? SmallBench.defaultFileBytes
                let results = try await SmallBench.run(root: root, clients: clients, files: files, fileBytes: fileBytes)
                printNow(Bench.table(results))
                if let json {
                    try FileSystem.write(Array(SmallBench.json(results, clients: clients, files: files, fileBytes: fileBytes)), to: json)
                }
                return
            }
            let bench = Bench(
                root: root, fileBytes: fileBytes, smallFiles: smallFiles, bigBytes: bigBytes, concurrentClients: clients ?? SmallBench.defaultClients,
                concurrentFiles: files ?? (quick ? 500 : SmallBench.defaultFiles), quick: quick,
                postgres: noPostgres ? .skipped : postgres.map { .existing(uri: $0) } ?? .throwaway)
            defer { bench.cleanUp() }
            try bench.checkFreeSpace()
            let results = try await bench.run()
            printNow(Bench.table(results, notes: bench.notes))
            if let json {
                try FileSystem.write(Array(Bench.json(results, bench: bench)), to: json)
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
    /// What the row ran against, when the table's header does not say (the PostgreSQL
    /// server's version); printed below the table.
    var note: String? = nil
}
