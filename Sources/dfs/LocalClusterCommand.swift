import ArgumentParser
import DFSCore
import DFSData
import DFSMeta
import DFSSystem
import Foundation

struct LocalClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local-cluster",
        abstract: "Run a meta server and several data nodes in one process, under one folder.",
        discussion: """
            For trying dfs on one machine. Data stays in the folder between runs; Ctrl-C stops.
            Example:
              dfs local-cluster --dir ./dfs-local --port 8000 --nodes 3
            """
    )

    @OptionGroup var security: SecretOptions

    @Option(help: "Folder for the database and the nodes' blocks.")
    var dir: String = "./dfs-local"

    @Option(help: "Port of the meta server.")
    var port: Int = 8000

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Number of data nodes.")
    var nodes: Int = 3

    @Option(help: "Replicas per block for files that do not ask for a number.")
    var replication: Int = 3

    @Option(help: ArgumentHelp("[HOST]:PORT for the meta server's status page and metrics.", valueName: "[host]:port"))
    var http: Endpoint?

    func validate() throws {
        guard (1...32).contains(nodes) else { throw ValidationError("--nodes must be 1 to 32") }
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a port number") }
        guard (1...Limits.replicationMax).contains(replication) else {
            throw ValidationError("--replication must be 1 to \(Limits.replicationMax)")
        }
    }

    func run() async throws {
        try await reportingErrors("local-cluster") {
            let root = URL(fileURLWithPath: dir, isDirectory: true)
            try FileSystem.makeFolders(root.path)
            var metaOptions = MetaServer.Options(
                listen: Endpoint(host: host, port: port), databasePath: root.appendingPathComponent("meta.db").path)
            metaOptions.defaultReplication = replication
            metaOptions.heartbeatInterval = .seconds(1)
            let secret = try security.load()
            metaOptions.secret = secret
            metaOptions.http = http
            warnIfExposed(host: host, secret: secret, command: "local-cluster")
            let meta = try await MetaServer.start(metaOptions)
            var dataServers: [DataServer] = []
            for index in 1...nodes {
                let folder = root.appendingPathComponent("data\(index)").path
                var options = DataServer.Options(listen: Endpoint(host: host, port: 0), meta: meta.endpoint, folder: folder)
                options.retryInterval = .milliseconds(200)
                options.secret = secret
                dataServers.append(try await DataServer.start(options))
            }
            let endpoint = "\(host == "" ? "127.0.0.1" : host):\(meta.endpoint.port)"
            printNow(
                """
                dfs local-cluster: meta server on \(endpoint), \(nodes) data nodes, data in \(root.path)\(meta.monitoring.map { "\nStatus page: http://\($0.endpoint)/  (metrics: http://\($0.endpoint)/metrics)" } ?? "")
                Try, in another terminal:
                  dfs cp ./README.md \(endpoint):docs/README.md
                  dfs ls -l \(endpoint):docs
                  dfs cp \(endpoint):docs/README.md /tmp/README.copy
                Ctrl-C stops the cluster.
                """)
            await waitForTerminationSignal()
            printNow("dfs local-cluster: stopping")
            for server in dataServers { await server.leave(grace: .seconds(5)) }
            await meta.stop(grace: .seconds(5))
        }
    }
}
