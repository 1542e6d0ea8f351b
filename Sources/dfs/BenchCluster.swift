import DFSClient
import DFSCore
import DFSNet
import DFSProcess
import DFSSystem
import Foundation

/// The benchmark's cluster: a meta server and three data nodes, each a `dfs` process on
/// 127.0.0.1 with its files and output in the run's folder; with `secretFile`, a cluster with
/// that secret (every connection TLS); with `database`, a meta server that keeps its namespace
/// there (a PostgreSQL URI) rather than in `meta.db` in the folder.
final class BenchCluster {
    let root: URL
    let secretFile: String?
    let database: String?
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    private(set) var servers: [SpawnedProcess] = []
    /// The meta server's endpoint, once ``start()`` has returned.
    private(set) var endpoint = Endpoint(host: "127.0.0.1", port: 0)
    /// Every server's HTTP port (`--http`), meta server first: the benchmark scrapes them.
    private(set) var httpEndpoints: [Endpoint] = []

    init(root: URL, secretFile: String? = nil, database: String? = nil) {
        self.root = root
        self.secretFile = secretFile
        self.database = database
    }

    /// `--secret-file FILE` for a command that talks to this cluster, or nothing.
    var secretArguments: [String] { secretFile.map { ["--secret-file", $0] } ?? [] }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// Starts the servers and returns when all three data nodes have registered.
    func start() async throws {
        let metaOutput = path("meta.out")
        servers.append(
            try ChildProcess.start(
                [
                    executable, "serve-meta", "--host", "127.0.0.1", "--port", "0", "--db", database ?? path("meta.db"), "--heartbeat", "1s", "--http",
                    "127.0.0.1:0",
                ]
                    + secretArguments,
                outputPath: metaOutput))
        endpoint = try await Self.listeningEndpoint(metaOutput)
        for index in 0..<3 {
            servers.append(
                try ChildProcess.start(
                    [
                        executable, "serve-data", "--listen", "127.0.0.1:0", "--meta", endpoint.description, "--dir", path("data\(index)"), "--http",
                        "127.0.0.1:0",
                    ] + secretArguments,
                    outputPath: path("data\(index).out")))
        }

        let secret = try ClusterSecret.load(file: secretFile, environment: [:])
        let client = DFSClient(meta: endpoint, secret: secret)
        defer { Task { await client.close() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await client.status().nodes.filter(\.alive).count < 3 {
            guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "the data nodes did not register within 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        var found: [Endpoint] = []
        for output in [metaOutput] + (0..<3).map({ path("data\($0).out") }) {
            while true {
                if let http = try ListeningLine.httpEndpoint(in: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "") {
                    found.append(http)
                    break
                }
                guard ContinuousClock.now < deadline else { throw DFSError(.timeout, "no HTTP port in \(output) within 30 s") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        httpEndpoints = found
    }

    /// CPU seconds the data nodes have used so far, together.
    var dataNodeCPUSeconds: Double { servers.dropFirst().map { ChildProcess.cpuSeconds(of: $0) }.reduce(0, +) }

    /// Peak resident memory of each server so far, meta server first.
    var peakBytes: [Int] { servers.map { ChildProcess.peakBytes(of: $0) } }

    /// Stops the servers: data nodes first, so each can say goodbye to a meta server that is
    /// still there.
    func stop() {
        for server in servers.reversed() { ChildProcess.stop(server) }
        servers = []
    }

    /// The endpoint a server process printed it listens on.
    static func listeningEndpoint(_ outputPath: String) async throws -> Endpoint {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let bytes = try? FileSystem.contents(of: outputPath), let endpoint = try ListeningLine.endpoint(in: String(decoding: bytes, as: UTF8.self)) {
                return endpoint
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DFSError(.timeout, "the meta server did not start within 30 s")
    }
}
