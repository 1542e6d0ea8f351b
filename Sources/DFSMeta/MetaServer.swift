import DFSCore
import DFSMetrics
import DFSNet
import DFSPostgres
import DFSSystem
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
        /// With PostgreSQL: the address a standby names to clients and nodes when this server
        /// is active (`--advertise`); nil is the listening host (or this machine's name when
        /// listening on every interface) and the listening port.
        public var advertise: Endpoint?
        /// With PostgreSQL: how soon after the active server dies (or is cut off from the
        /// database) a standby takes over. The lease lasts 70% of it, and standbys look
        /// every 5% of it.
        public var failoverAfter: Duration = .seconds(10)
        var leaseDuration: Duration { failoverAfter * 0.7 }

        public init(listen: Endpoint, databasePath: String) {
            self.listen = listen
            self.databasePath = databasePath
        }
    }

    public let options: Options
    /// Where the server listens, with the real port when port 0 was asked for.
    public let endpoint: Endpoint
    /// The HTTP port (metrics, status page) when ``Options/http`` asked for one.
    public let monitoring: MonitoringServer?
    /// The server's metrics; `GET /metrics` on its HTTP port shows them.
    public let metrics: MetaMetrics
    private let listener: Listener
    /// The queue of the store and of every connection; a store opened on taking over uses it too.
    private let executor: QueueExecutor
    /// With PostgreSQL: the lease that says which server is active.
    let election: MetaElection?
    private let role = Mutex(Role())
    private let background = Mutex<[Task<Void, Never>]>([])

    /// What the server is now.
    private struct Role {
        /// The service when this server is the active one.
        var service: MetaService?
        /// Its background upkeep.
        var housekeeping: Task<Void, Never>?
        /// Its lease's token (PostgreSQL).
        var token: Int64?
        /// The active server as a standby last saw it.
        var knownActive: Endpoint?
        var stopped = false
    }

    static let component = "meta"

    private init(
        options: Options, listener: Listener, executor: QueueExecutor, monitoring: MonitoringServer?, metrics: MetaMetrics,
        election: MetaElection?
    ) {
        self.options = options
        self.listener = listener
        self.executor = executor
        self.monitoring = monitoring
        self.metrics = metrics
        self.election = election
        self.endpoint = listener.endpoint
    }

    /// The service of the active server. A meta server on SQLite is always active; one on
    /// PostgreSQL may be a standby, which has none: see ``activeService``.
    public var service: MetaService {
        guard let service = activeService else { preconditionFailure("this meta server is a standby and has no service") }
        return service
    }

    /// The service when this server is the active one; nil for a standby.
    public var activeService: MetaService? { role.withLock { $0.service } }

    /// True while this server is the active one.
    public var isActive: Bool { activeService != nil }

    /// Opens (creating and migrating) the database and starts listening. With PostgreSQL,
    /// the server becomes active when it can take the lease and is a standby until then.
    public static func start(_ options: Options) async throws -> MetaServer {
        guard (1...Limits.replicationMax).contains(options.defaultReplication) else {
            throw DFSError(.invalidArgument, "replication \(options.defaultReplication) is outside 1...\(Limits.replicationMax)")
        }
        let postgres = PostgresURI.isPostgres(options.databasePath)
        // A backup cut short by a crash left its copy beside the database.
        if options.databasePath != ":memory:" && !postgres {
            MetaStore.removeBackupFiles(at: MetaStore.backupPath(forDatabase: options.databasePath))
        }
        let executor = QueueExecutor(label: "dfs.meta-store")
        let metrics = MetaMetrics()
        let listener = try Listener(
            host: options.listen.host, port: options.listen.port, component: component, connectionExecutor: executor)
        var election: MetaElection?
        var monitoring: MonitoringServer?
        let holder = Mutex(WeakMetaServer())
        let server: MetaServer
        do {
            if postgres {
                let address =
                    options.advertise ?? Endpoint(host: options.listen.host.isEmpty ? Self.hostName : options.listen.host, port: listener.endpoint.port)
                let created = try MetaElection(uri: options.databasePath, address: address, leaseDuration: options.leaseDuration)
                election = created
                try await created.prepare()
            }
            if let http = options.http {
                monitoring = try await MonitoringServer.start(
                    listen: http, routes: Self.routes(holder: holder, metrics: metrics, endpoint: listener.endpoint),
                    secret: options.secret != nil, component: component)
            }
            server = MetaServer(
                options: options, listener: listener, executor: executor, monitoring: monitoring, metrics: metrics, election: election)
            holder.withLock { $0.value = server }
            // Weakly: the server owns the metrics, which own this collector.
            metrics.server.addCollector { [weak server, weak metrics] in
                guard let server, let metrics, let service = server.activeService else { return }
                await metrics.collect(service)
            }
            if let election {
                if let token = try await election.tryAcquire() { try await server.activate(token: token) }
            } else {
                try await server.activate(token: nil)
            }
        } catch {
            await monitoring?.stop()
            await listener.close()
            await election?.close()
            throw error
        }
        await listener.start { connection in
            await FrameServer.serve(
                connection, role: .metaServer, component: component, timeouts: options.timeouts, secret: options.secret,
                observe: metrics.requests.observe
            ) { frame, connection in
                guard let server = holder.withLock({ $0.value }) else {
                    throw DFSError(.unavailable, "the meta server is stopping", transient: true)
                }
                // The active service answers; a standby names the active server.
                let (service, active) = server.role.withLock { ($0.service, $0.knownActive) }
                guard let service else { throw DFSError.notActive(active: active) }
                try await service.serve(frame, on: connection)
            }
        }
        if election != nil {
            server.background.withLock { $0.append(Task { await server.campaign() }) }
        }
        Log.info(
            component,
            "\(server.isActive ? "serving" : "standing by for") \(PostgresURI.redacted(options.databasePath)) on \(listener.endpoint)")
        return server
    }

    private static var hostName: String { ProcessInfo.processInfo.hostName }

    /// Opens the store and starts serving as the active server.
    private func activate(token: Int64?) async throws {
        let options = options
        let executor = executor
        let fence = token.map { token in
            MetaFence(token: token, holder: election?.holder ?? "", idleTransactionTimeout: options.leaseDuration / 2) { [weak self] in
                Task { await self?.deactivate(reason: "a transaction found the lease lost") }
            }
        }
        let store = try await BlockingIO.run { () throws -> MetaStore in
            try MetaStore(path: options.databasePath, executor: executor, fence: fence)
        }
        let commitSyncs = metrics.commitSyncs
        store.sync?.onSync.withLock { $0 = { commitSyncs.record($0) } }
        let service = MetaService(store: store, options: options, metrics: metrics, election: election)
        let housekeeping = Task { [weak self] in
            guard let self else { return }
            await self.housekeep(service)
        }
        let stale = role.withLock { role -> Bool in
            guard !role.stopped else { return true }
            role.service = service
            role.housekeeping = housekeeping
            role.token = token
            role.knownActive = nil
            return false
        }
        if stale {
            housekeeping.cancel()
            return
        }
        metrics.active.set(Double(1))
        if let token { Log.info(Self.component, "became the active meta server (lease token \(token))") }
    }

    /// Stops serving as the active server: requests get `notActive`, upkeep stops.
    private func deactivate(reason: String) async {
        let (service, housekeeping) = role.withLock { role -> (MetaService?, Task<Void, Never>?) in
            defer {
                role.service = nil
                role.housekeeping = nil
                role.token = nil
            }
            return (role.service, role.housekeeping)
        }
        guard service != nil else { return }
        metrics.active.set(Double(0))
        Log.warn(Self.component, "no longer the active meta server: \(reason); standing by")
        housekeeping?.cancel()
        await housekeeping?.value
    }

    /// With PostgreSQL, until the server stops: the active server renews its lease, and
    /// gives up serving when it cannot renew it before it runs out; a standby takes the lease
    /// once it has expired. Both note themselves alive for `dfs status`.
    private func campaign() async {
        guard let election else { return }
        let lease = options.leaseDuration
        var renewedAt = ContinuousClock.now
        while !Task.isCancelled {
            let token = role.withLock { $0.token }
            do {
                if let token {
                    let asked = ContinuousClock.now
                    if try await election.renew(token: token) {
                        renewedAt = asked
                    } else {
                        await deactivate(reason: "its lease was taken by another server")
                    }
                } else if let token = try await election.tryAcquire() {
                    renewedAt = .now
                    try await activate(token: token)
                } else {
                    let active = try await election.activeAddress()
                    role.withLock { $0.knownActive = active }
                }
                try await election.noteAlive()
            } catch is CancellationError {
                return
            } catch {
                Log.warn(Self.component, "the lease on \(election.redactedURI): \(DFSError.wrap(error).message)")
            }
            // The database's clock decides; this one only stops serving early, before the
            // lease can have run out, when renewals fail.
            if role.withLock({ $0.token }) != nil && ContinuousClock.now - renewedAt > lease * 0.8 {
                await deactivate(reason: "the lease could not be renewed in time")
            }
            let pause = role.withLock { $0.token } != nil ? lease / 4 : options.failoverAfter / 20
            try? await Task.sleep(for: pause)
        }
    }

    /// Stops: no new connections; requests under way get `grace` to finish, then every
    /// connection is closed. An active server on PostgreSQL hands its lease back.
    public func stop(grace: Duration = .zero) async {
        let (housekeeping, token) = role.withLock { role -> (Task<Void, Never>?, Int64?) in
            role.stopped = true
            defer { role.housekeeping = nil }
            return (role.housekeeping, role.token)
        }
        let tasks = background.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        tasks.forEach { $0.cancel() }
        for task in tasks { await task.value }
        housekeeping?.cancel()
        await housekeeping?.value
        await monitoring?.stop()
        await listener.close(grace: grace)
        if let election {
            if let token { try? await election.release(token: token) }
            await election.close()
        }
        role.withLock { $0.service = nil }
    }

    /// What the HTTP port serves: metrics, the status page, the status as JSON, from the
    /// server `holder` comes to name (a standby's page says it stands by).
    private static func routes(holder: Mutex<WeakMetaServer>, metrics: MetaMetrics, endpoint: Endpoint) -> MonitoringServer.Routes {
        @Sendable func service() throws -> MetaService {
            guard let server = holder.withLock({ $0.value }) else { throw DFSError(.unavailable, "the server is stopping") }
            guard let service = server.activeService else {
                throw DFSError.notActive(active: server.role.withLock { $0.knownActive })
            }
            return service
        }
        return MonitoringServer.Routes(
            metrics: metrics.server, title: "dfs meta server \(endpoint)",
            page: {
                StatusPage.render(try await service().statusPageContent(server: endpoint.description))
            },
            statusJSON: {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return Array(try encoder.encode(try await service().statusJSON()))
            })
    }

    /// Background upkeep, until the server stops: abandoned uploads are dropped, and blocks
    /// with too few or too many replicas are repaired.
    private func housekeep(_ service: MetaService) async {
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
                try await service.store.tidyDatabase()
                try await service.repair()
            } catch {
                Log.warn(Self.component, "housekeeping failed: \(DFSError.wrap(error).message)")
            }
            try? await Task.sleep(for: min(options.repairInterval, leaseInterval))
        }
    }
}

struct WeakMetaServer {
    weak var value: MetaServer?
}
