import ArgumentParser
import DFSCore
import DFSMeta
import DFSPostgres
import DFSProcess

struct ServeMetaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-meta",
        abstract: "Run the meta server: the namespace, the node registry and block placement.",
        discussion: """
            The database is created and migrated on first start: a SQLite file (the default), or a
            PostgreSQL database named by a libpq URI (postgres://USER@HOST:PORT/DBNAME; a password
            from PGPASSWORD or ~/.pgpass). Several meta servers may share one PostgreSQL database:
            one is active, the others stand by and take over within --failover-after when it dies.
            Examples:
              dfs serve-meta --port 8000 --db ./dfs-meta.db
              dfs serve-meta --port 8000 --db postgres://dfs@db.example:5432/dfs --advertise 10.0.0.1:8000
            """
    )

    @OptionGroup var security: SecretOptions
    @OptionGroup var logging: LogOptions

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port: Int = 8000

    @Option(help: "Address to listen on; empty means every interface.")
    var host: String = ""

    @Option(help: "SQLite database file, or a PostgreSQL URI (postgres://USER@HOST:PORT/DBNAME).")
    var db: String = "./dfs-meta.db"

    @Option(
        help: ArgumentHelp(
            "With PostgreSQL: the HOST:PORT that standbys name to clients and nodes when this server is active.",
            discussion: "Defaults to --host (this machine's name when listening on every interface) and --port.",
            valueName: "host:port"))
    var advertise: Endpoint?

    @Option(help: "With PostgreSQL: how soon a standby takes over after the active meta server dies or is cut off (2s to 10m).")
    var failoverAfter: DurationArgument = DurationArgument(.seconds(10))

    @Option(help: "Replicas per block for files that do not ask for a number.")
    var replication: Int = 3

    @Option(help: "How often data nodes send heartbeats (500ms, 3s, ...).")
    var heartbeat: DurationArgument = DurationArgument(.seconds(3))

    @Option(help: "A node whose heartbeats stop this long gets no new blocks.")
    var deadAfter: DurationArgument = DurationArgument(.seconds(30))

    @Option(
        help: ArgumentHelp(
            "An upload whose client has not renewed its lease for this long is abandoned and its blocks freed.",
            discussion:
                "Clients renew every quarter of the lease while they write, so a slow upload is never cut short; one whose client died gives its space back after this time."
        ))
    var pendingLease: DurationArgument = DurationArgument(.seconds(120))

    @Option(help: "A block a node holds that no file owns is deleted after this long.")
    var orphanGrace: DurationArgument = DurationArgument(.seconds(600))

    @Option(help: "How long a node stopped on purpose may stay away before its blocks are copied elsewhere.")
    var leaveGrace: DurationArgument = DurationArgument(.seconds(600))

    @Option(help: "Repair copies one node sends or receives at once.")
    var repairPerNode: Int = 2

    @Option(help: "A node a client reported slow gets no new blocks for at least this long, until a heartbeat after it.")
    var slowPenalty: DurationArgument = DurationArgument(.seconds(10))

    @Option(
        help: ArgumentHelp(
            "[HOST]:PORT for HTTP: the status page (/), Prometheus metrics (/metrics) and /api/status; off unless given.",
            discussion: "Read-only and unauthenticated; with a cluster secret it serves / and /metrics only. ':8080' means every interface.",
            valueName: "[host]:port"))
    var http: Endpoint?

    func validate() throws {
        guard (1...64).contains(repairPerNode) else { throw ValidationError("--repair-per-node must be 1 to 64") }
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a port number (0 to 65535)") }
        guard (1...Limits.replicationMax).contains(replication) else {
            throw ValidationError("--replication must be 1 to \(Limits.replicationMax)")
        }
        // Clients renew every quarter of the lease: below a second, a busy client or server
        // would lose uploads that are alive.
        guard pendingLease.duration >= .seconds(1) else { throw ValidationError("--pending-lease must be at least 1s") }
        guard (.seconds(2)...(.seconds(600))).contains(failoverAfter.duration) else {
            throw ValidationError("--failover-after must be 2s to 10m")
        }
        if PostgresURI.isPostgres(db) {
            do {
                try PostgresURI.validate(db)
            } catch {
                throw ValidationError("--db: \(error.message)")
            }
        } else if advertise != nil {
            throw ValidationError("--advertise is for meta servers that share a PostgreSQL database; a SQLite database has one server")
        }
        if let advertise, advertise.host.isEmpty || advertise.port == 0 {
            throw ValidationError("--advertise needs a host and a port that others can reach (for example 10.0.0.1:8000)")
        }
    }

    func run() async throws {
        logging.apply()
        try await reportingErrors("serve-meta", server: true) {
            var options = MetaServer.Options(listen: Endpoint(host: host, port: port), databasePath: db)
            options.defaultReplication = replication
            options.heartbeatInterval = heartbeat.duration
            options.deadAfter = deadAfter.duration
            options.pendingLease = pendingLease.duration
            options.orphanGrace = orphanGrace.duration
            options.leaveGrace = leaveGrace.duration
            options.repairCopiesPerNode = repairPerNode
            options.slowNodePenalty = slowPenalty.duration
            options.repairInterval = min(options.heartbeatInterval, .seconds(1))
            options.secret = try security.load()
            options.http = http
            options.advertise = advertise
            options.failoverAfter = failoverAfter.duration
            warnIfExposed(host: host, secret: options.secret, command: "serve-meta")
            let server = try await MetaServer.start(options)
            printNow(ListeningLine.text(command: "serve-meta", endpoint: server.endpoint))
            if let monitoring = server.monitoring { printNow(ListeningLine.httpText(command: "serve-meta", endpoint: monitoring.endpoint)) }
            await waitForTerminationSignal()
            printServerLine("serve-meta", .info, "stopping; requests under way get 5 s to finish")
            await server.stop(grace: .seconds(5))
        }
    }
}
