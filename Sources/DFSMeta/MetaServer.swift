import DFSCore
import DFSMetrics
import DFSNet
import Foundation

/// `dfs serve-meta`: the namespace, the node registry and block placement, over SQLite.
public final class MetaServer: Sendable {
    public struct Options: Sendable {
        public var listen: Endpoint
        public var databasePath: String
        /// Replicas per block for files that do not ask for a number.
        public var defaultReplication = 3
        /// How often data nodes send heartbeats.
        public var heartbeatInterval: Duration = .seconds(3)
        /// A node whose heartbeats stop for this long gets no new blocks.
        public var deadAfter: Duration = .seconds(30)
        /// A pending file whose writer has not renewed it (`renewLeases`, `allocateBlock`)
        /// for this long is abandoned: its upload died or gave up. Writers renew every quarter
        /// of it, so a slow upload that is alive keeps its file however long it takes.
        public var pendingLease: Duration = .seconds(120)
        /// Right after a start, how long placement may wait for data nodes the database knows
        /// to send their first heartbeat instead of refusing: nil is two heartbeat intervals
        /// and a second (a node that lost the old server tries again every second).
        public var firstHeartbeatsWait: Duration?
        /// A block a node reports that no file owns is deleted after this long.
        public var orphanGrace: Duration = .seconds(600)
        /// How long a node that announced a planned stop may stay away before its blocks are
        /// copied elsewhere, as they would be for a dead node.
        public var leaveGrace: Duration = .seconds(600)
        /// Repair copies one node sends or receives at once, so repair never starves clients.
        public var repairCopiesPerNode = 2
        /// How often the repair loop looks for blocks with too few or too many replicas.
        public var repairInterval: Duration = .seconds(1)
        public var timeouts: Timeouts = .standard
        /// When set, every connection must prove it knows the secret, and block tokens are
        /// signed with it.
        public var secret: ClusterSecret?
        /// How long a node reported slow by a client (`reportSlowNode`) stays out of placement
        /// at least: its mark ends at its first heartbeat after this (see `SlowNodes`).
        public var slowNodePenalty: Duration = .seconds(10)
        /// How long a block token stays good: long enough for a large file's transfer.
        public var blockTokenLifetime: Duration = .seconds(10 * 3600)
        /// Where leases, heartbeats and the start-up quiet period read the time.
        public var clock: MetaClock = .system
        /// The HTTP port for metrics and the status page (`--http`); none when nil.
        public var http: Endpoint?

        public init(listen: Endpoint, databasePath: String) {
            self.listen = listen
            self.databasePath = databasePath
        }
    }

    public let options: Options
    /// Where the server listens, with the real port when port 0 was asked for.
    public let endpoint: Endpoint
    public let service: MetaService
    /// The HTTP port (metrics, status page) when ``Options/http`` asked for one.
    public let monitoring: MonitoringServer?
    /// The server's metrics; `GET /metrics` on its HTTP port shows them.
    public var metrics: MetaMetrics { service.metrics }
    private let listener: Listener
    private let housekeeping = Mutex<Task<Void, Never>?>(nil)

    static let component = "meta"

    private init(options: Options, service: MetaService, listener: Listener, monitoring: MonitoringServer?) {
        self.options = options
        self.service = service
        self.listener = listener
        self.monitoring = monitoring
        self.endpoint = listener.endpoint
    }

    /// Opens (creating and migrating) the database and starts listening.
    public static func start(_ options: Options) async throws -> MetaServer {
        guard (1...Limits.replicationMax).contains(options.defaultReplication) else {
            throw DFSError(.invalidArgument, "replication \(options.defaultReplication) is outside 1...\(Limits.replicationMax)")
        }
        // A backup cut short by a crash left its copy beside the database.
        if options.databasePath != ":memory:" {
            MetaStore.removeBackupFiles(at: MetaStore.backupPath(forDatabase: options.databasePath))
        }
        let store = try MetaStore(path: options.databasePath)
        let metrics = MetaMetrics()
        let commitSyncs = metrics.commitSyncs
        store.sync?.onSync.withLock { $0 = { commitSyncs.record($0) } }
        let service = MetaService(store: store, options: options, metrics: metrics)
        // Weakly: the service owns the metrics, which own this collector.
        metrics.server.addCollector { [weak service, weak metrics] in
            guard let service, let metrics else { return }
            await metrics.collect(service)
        }
        let listener = try Listener(
            host: options.listen.host, port: options.listen.port, component: component, connectionExecutor: store.executor)
        var monitoring: MonitoringServer?
        if let http = options.http {
            do {
                monitoring = try await MonitoringServer.start(
                    listen: http, routes: Self.routes(service: service, metrics: metrics, endpoint: listener.endpoint),
                    secret: options.secret != nil, component: component)
            } catch {
                await listener.close()
                throw error
            }
        }
        let server = MetaServer(options: options, service: service, listener: listener, monitoring: monitoring)
        await listener.start { connection in
            await FrameServer.serve(
                connection, role: .metaServer, component: component, timeouts: options.timeouts, secret: options.secret,
                observe: metrics.requests.observe
            ) { frame, connection in
                try await service.serve(frame, on: connection)
            }
        }
        server.housekeeping.withLock { $0 = Task { await server.housekeep() } }
        Log.info(component, "serving \(options.databasePath) on \(listener.endpoint)")
        return server
    }

    /// Stops: no new connections; requests under way get `grace` to finish, then every
    /// connection is closed.
    public func stop(grace: Duration = .zero) async {
        let task = housekeeping.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
        await monitoring?.stop()
        await listener.close(grace: grace)
    }

    /// What the HTTP port serves: metrics, the status page, the status as JSON.
    private static func routes(service: MetaService, metrics: MetaMetrics, endpoint: Endpoint) -> MonitoringServer.Routes {
        MonitoringServer.Routes(
            metrics: metrics.server, title: "dfs meta server \(endpoint)",
            page: { [weak service] in
                guard let service else { throw DFSError(.unavailable, "the server is stopping") }
                return StatusPage.render(try await service.statusPageContent(server: endpoint.description))
            },
            statusJSON: { [weak service] in
                guard let service else { throw DFSError(.unavailable, "the server is stopping") }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return Array(try encoder.encode(try await service.statusJSON()))
            })
    }

    /// Background upkeep, until the server stops: abandoned uploads are dropped, and blocks
    /// with too few or too many replicas are repaired.
    private func housekeep() async {
        // An eighth of the lease, at most 15 s: with the default lease of 2 minutes, an
        // upload that died gives its space back within 2 min 15 s of its last renewal.
        let leaseInterval = max(min(options.pendingLease / 8, .seconds(15)), .milliseconds(10))
        var lastLeaseCheck = ContinuousClock.now - leaseInterval
        while !Task.isCancelled {
            do {
                if ContinuousClock.now - lastLeaseCheck >= leaseInterval {
                    lastLeaseCheck = .now
                    try await service.expirePendingFiles()
                }
                await service.sampleThroughput()
                try await service.repair()
            } catch {
                Log.warn(Self.component, "housekeeping failed: \(DFSError.wrap(error).message)")
            }
            try? await Task.sleep(for: min(options.repairInterval, leaseInterval))
        }
    }
}
