import DFSClient
import DFSCore
import DFSPostgres
import DFSSystem
import Foundation

/// The PostgreSQL store: the same namespace work on a second cluster, whose meta server keeps
/// its namespace in PostgreSQL (`serve-meta --db postgres://...`), and on the run's main
/// cluster, whose meta server keeps it in SQLite. Each round copies the tree of small files
/// into both, lists it and stats every file, one cluster after the other; which one goes
/// first alternates, so that neither always finds the disk busy with the other's writes.
extension Bench {
    func postgresStoreRows() async throws -> [BenchResult] {
        let database: BenchPostgres
        switch postgresSource {
        case .skipped:
            return []
        case .existing(let uri):
            progress("the PostgreSQL store: connecting to \(PostgresURI.redacted(uri))")
            database = try BenchPostgres.existing(uri: uri)
        case .throwaway:
            let programs: BenchPostgres.Programs
            do {
                programs = try BenchPostgres.Programs.find()
            } catch {
                notes.append("PostgreSQL store rows skipped: \(error.message)")
                return []
            }
            progress("the PostgreSQL store: starting a throwaway PostgreSQL server")
            database = try BenchPostgres.start(in: root.deletingLastPathComponent().path, programs: programs)
        }
        postgres = database
        let postgresCluster = BenchCluster(root: root.appendingPathComponent("postgres"), database: database.uri)
        self.postgresCluster = postgresCluster
        // The cluster first: its meta server would complain of a database gone away.
        defer {
            postgresCluster.stop()
            database.stop()
        }
        try FileSystem.makeFolders(postgresCluster.root.path)
        progress("the PostgreSQL store: a meta server on PostgreSQL \(database.version) and three data nodes")
        try await postgresCluster.start()

        // A folder of this run's own: a database named with --postgres may hold earlier runs'.
        let top = "/" + root.lastPathComponent
        let sides = [
            StoreSide(endpoint: cluster.endpoint, name: ""),
            StoreSide(endpoint: postgresCluster.endpoint, name: " (PostgreSQL store)"),
        ]
        do {
            for side in sides { try await side.client.makeDirectory(DFSPath(top)) }
            progress("the PostgreSQL store: \(smallFiles) small files in, ls -l and stat, taking turns with the SQLite store")
            for round in 0..<rounds {
                for side in round % 2 == 0 ? sides : sides.reversed() {
                    let folder = "\(top)/store-\(round)"
                    let remote = "\(side.endpoint):\(folder)"
                    sync()
                    let treeIn = try checked(
                        ChildProcess.run([executable, "cp", "-q", "-r", "--replication", "1", path("small"), remote]), "dfs cp -r" + side.name)
                    side.creates.append(Double(smallFiles) / treeIn.seconds)
                    let list = try checked(ChildProcess.run([executable, "ls", "-l", remote]), "dfs ls -l" + side.name)
                    let listed = list.output.split(separator: "\n").count
                    guard listed == smallFiles else {
                        throw DFSError(.internalError, "dfs ls -l\(side.name) listed \(listed) entries, expected \(smallFiles)")
                    }
                    side.lists.append(list.seconds)
                    let paths = try (0..<smallFiles).map { try DFSPath(folder + String(format: "/f%06d", $0)) }
                    side.stats.append(try await SmallBench.statsPerSecond(side.client, paths))
                    let client = side.client
                    side.concurrentStats.append(
                        try await BenchWorkers.tasks(workers: SmallBench.statCallers, items: paths.count) { _, item in
                            _ = try await client.stat(paths[item])
                        }.itemsPerSecond)
                }
            }
            if case .existing = postgresSource {
                progress("the PostgreSQL store: removing \(top) from the database")
                try await sides[1].client.remove(DFSPath(top), recursive: true)
            }
            for side in sides { await side.client.close() }
        } catch {
            for side in sides { await side.client.close() }
            throw error
        }
        return postgresStoreResults(sqlite: sides[0], postgres: sides[1], database: database)
    }

    /// One cluster's client and the figures of every round.
    final class StoreSide {
        let endpoint: Endpoint
        /// What a failed step adds to its name: nothing for the main cluster.
        let name: String
        let client: DFSClient
        var creates: [Double] = []
        var lists: [Double] = []
        var stats: [Double] = []
        /// From ``SmallBench/statCallers`` callers at once sharing the client.
        var concurrentStats: [Double] = []

        init(endpoint: Endpoint, name: String) {
            self.endpoint = endpoint
            self.name = name
            client = DFSClient(meta: endpoint)
        }
    }

    /// The three rows, PostgreSQL beside SQLite; each notes the server's version and its
    /// durability settings.
    func postgresStoreResults(sqlite: StoreSide, postgres: StoreSide, database: BenchPostgres) -> [BenchResult] {
        let ofRounds = rounds > 1 ? ", median of \(rounds)" : ""
        let origin = postgresSource == .throwaway ? "a throwaway server of this run on 127.0.0.1" : "at \(PostgresURI.redacted(database.uri))"
        let note =
            "PostgreSQL store rows: PostgreSQL \(database.version), \(origin) (fsync \(database.fsync), "
            + "synchronous_commit \(database.synchronousCommit)); baseline: the run's main cluster, its namespace in SQLite"
        /// `ratio` is PostgreSQL against SQLite, oriented so that higher is better.
        func row(_ name: String, _ runs: [Double], _ baselineRuns: [Double], unit: String, goal: String, ratio: (Double, Double) -> Double, met: Bool?)
            -> BenchResult
        {
            let value = Self.median(runs)
            let baseline = Self.median(baselineRuns)
            return BenchResult(
                name: "PostgreSQL store: " + name + ofRounds, value: value, unit: unit, baselineName: "SQLite store", baseline: baseline,
                ratio: ratio(value, baseline), goal: goal, met: met, runs: runs, baselineRuns: baselineRuns, note: note)
        }
        let creates = Self.median(postgres.creates)
        let concurrentStats = Self.median(postgres.concurrentStats)
        let list = Self.median(postgres.lists)
        return [
            row(
                "cp -r in of \(smallFiles) × 4 KiB files", postgres.creates, sqlite.creates, unit: "files/s", goal: "≥ 2000 files/s", ratio: /,
                met: creates >= 2000),
            // One caller after another waits out two round trips a stat (client to meta server,
            // meta server to PostgreSQL); metadata benchmarks (mdtest, JuiceFS's) stat from many
            // callers at once, which the goal is for.
            row("stat of \(smallFiles) files, one caller", postgres.stats, sqlite.stats, unit: "stats/s", goal: "-", ratio: /, met: nil),
            row(
                "stat of \(smallFiles) files, \(SmallBench.statCallers) callers at once", postgres.concurrentStats, sqlite.concurrentStats,
                unit: "stats/s", goal: "≥ 10000 stats/s", ratio: /, met: concurrentStats >= 10_000),
            // Seconds: lower is better, so the ratio is SQLite's time over PostgreSQL's.
            row(
                "ls -l of \(smallFiles) files", postgres.lists, sqlite.lists, unit: "s", goal: "≤ 2 × SQLite", ratio: { $1 / $0 },
                met: list <= 2 * Self.median(sqlite.lists)),
        ]
    }
}
