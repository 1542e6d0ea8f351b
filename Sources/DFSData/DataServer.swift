import DFSCore
import DFSMetrics
import DFSNet
import DFSSystem
import Foundation

/// `dfs serve-data`: serves block reads and writes from a folder, and keeps the meta server
/// informed of the node's space through registration and heartbeats.
///
/// The shell: the listener, the lifecycle (start, leave, stop) and the dispatch of requests
/// to their handlers (`DataServer+Write`, `+Batch`, `+Read`: `readBlock` and `readBlocks`). What changes while the node
/// runs lives in one actor, ``DataServerState``; the background work has types of its own:
/// ``MetaReporter``, ``BlockScrubber``, ``RepairCopier``, ``PackCompactor`` and
/// ``BlockVerifier``.
public final class DataServer: Sendable {
    public let options: Options
    public let store: BlockStore
    /// Where the server listens, with the real port when port 0 was asked for.
    public let endpoint: Endpoint
    /// Re-reads the blocks the meta server asks about after a client reported them.
    public let verifier: BlockVerifier
    /// Re-reads every block at a bounded rate (running only when its rate is above zero).
    public let scrubber: BlockScrubber
    let state = DataServerState()
    let reader: VerifiedReader
    let peers: PeerConnector
    /// Frame buffers of finished block writes, for the next ones: at most one per block
    /// write the node usually has under way.
    let payloadBuffers = PayloadBuffers(limit: Limits.blocksInFlight)
    /// `readBlocks` requests answered so far (for tests).
    let batchReads = Mutex(0)
    private let listener: Listener
    private let pool: ConnectionPool
    /// The cluster's meta servers, and the one the node reports to now.
    let metaServers: MetaServers
    /// The HTTP port (metrics) when ``Options/http`` asked for one.
    private let monitoringServer = Mutex<MonitoringServer?>(nil)

    static let component = "data"

    private init(options: Options, store: BlockStore, listener: Listener) {
        self.options = options
        self.store = store
        self.listener = listener
        self.endpoint = listener.endpoint
        self.verifier = BlockVerifier(store: store)
        let reader = VerifiedReader(store: store)
        self.reader = reader
        self.scrubber = BlockScrubber(
            store: store, reader: reader, bytesPerSecond: options.scrubBytesPerSecond, interval: options.scrubInterval)
        self.peers = PeerConnector(timeouts: options.timeouts, secret: options.secret)
        self.pool = ConnectionPool(role: .dataNode, timeouts: options.timeouts, secret: options.secret)
        self.metaServers = MetaServers(options.metaServers)
    }

    /// Opens the folder, starts listening and starts registering with the meta server.
    public static func start(_ options: Options) async throws -> DataServer {
        // The scan at start reads every folder and checksum file: off the cooperative pool.
        let store = try await BlockingIO.run { try BlockStore(folder: options.folder, dropWrittenPages: !options.cacheWrittenBlocks) }
        let listener = try Listener(host: options.listen.host, port: options.listen.port, component: component)
        let server = DataServer(options: options, store: store, listener: listener)
        await listener.start { [server] connection in
            await FrameServer.serve(
                connection, role: .dataNode, component: component, timeouts: options.timeouts, secret: options.secret,
                observe: store.metrics.requests.observe
            ) { frame, connection in
                try await server.handle(frame, on: connection)
            }
        }
        let reporter = MetaReporter(
            options: options, metas: server.metaServers, store: store, port: server.endpoint.port, pool: server.pool, state: server.state,
            verifier: server.verifier,
            copier: RepairCopier(store: store, reader: server.reader, peers: server.peers, timeouts: options.timeouts),
            compactor: PackCompactor(store: store))
        server.collectMetrics()
        if let http = options.http {
            do {
                let routes = MonitoringServer.Routes(
                    metrics: store.metrics.server, title: "dfs data node \(store.nodeID) on \(listener.endpoint)")
                let monitoring = try await MonitoringServer.start(listen: http, routes: routes, secret: options.secret != nil, component: component)
                server.monitoringServer.withLock { $0 = monitoring }
            } catch {
                await listener.close()
                throw error
            }
        }
        let scrubber = server.scrubber
        var scrub: (@Sendable () async -> Void)?
        if options.scrubBytesPerSecond > 0 { scrub = { @Sendable in await scrubber.run() } }
        await server.state.begin(reporter: { await reporter.run() }, scrubber: scrub)
        Log.info(component, "node \(store.nodeID) serving \(store.blockCount) blocks from \(options.folder) on \(listener.endpoint)")
        return server
    }

    /// The node's metrics; `GET /metrics` on its HTTP port shows them.
    public var metrics: NodeMetrics { store.metrics }
    /// The HTTP port (metrics) when ``Options/http`` asked for one.
    public var monitoring: MonitoringServer? { monitoringServer.withLock { $0 } }

    /// The gauges that read the present: space, blocks, connections, registration.
    private func collectMetrics() {
        let metrics = store.metrics
        // Weakly: the store owns the metrics, which own this collector.
        metrics.server.addCollector { [weak self] in
            guard let self else { return }
            metrics.capacity.set(Double(MetaReporter.capacityBytes(of: store, options: options)))
            metrics.used.set(Double(store.usedBytes))
            metrics.blocks.set(Double(store.blockCount))
            metrics.connections.set(Double(await listener.connectionCount))
            metrics.registered.set(await isRegistered ? 1.0 : 0.0)
        }
    }

    /// True once the meta server has accepted this node's registration.
    public var isRegistered: Bool {
        get async { await state.isRegistered }
    }
    /// Why the last attempt to reach the meta server failed; nil after a success.
    public var lastMetaError: DFSError? {
        get async { await state.lastMetaError }
    }
    /// Block bytes received so far, counted only when a planned death is set (tests).
    public var plannedDeathBytes: Int {
        get async { await state.receivedBytes }
    }
    /// Every block the scrubber has verified since start (for tests and logs).
    public var scrubbedBlocks: Int { scrubber.scrubbedBlocks.withLock { $0 } }
    /// `readBlocks` requests answered since start (for tests).
    public var answeredBatchReads: Int { batchReads.withLock { $0 } }

    // MARK: Lifecycle

    /// A planned stop: tells the meta server the node is leaving (so it places no new
    /// blocks here and copies none of this node's blocks elsewhere for its leave grace),
    /// lets requests under way finish for up to `grace`, then stops. Blocks already stored
    /// stay in the folder.
    public func leave(grace: Duration = .seconds(5)) async {
        // Heartbeats stop first, so none can arrive after the goodbye.
        let reporter = await state.beginLeaving()
        reporter?.cancel()
        await reporter?.value
        let request = NodeLeaving(nodeID: store.nodeID)
        let pool = self.pool
        let meta = metaServers
        // At most a few seconds: a meta server that is down must not hold up the stop.
        let told = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await pool.request(request, to: meta, expecting: OK.self)) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if told {
            Log.info(Self.component, "told meta server \(meta.current) that node \(store.nodeID) is leaving")
        } else {
            Log.warn(Self.component, "could not tell meta server \(meta.current) that node \(store.nodeID) is leaving; it will count the node dead")
        }
        await stop(grace: grace)
    }

    /// Stops serving and reporting, as a crash would look from outside (no goodbye).
    /// Requests under way get `grace` to finish. Blocks already stored stay in the folder.
    public func stop(grace: Duration = .zero) async {
        if let background = await state.beginStopping() {
            for task in [background.reporter, background.scrubber].compactMap({ $0 }) {
                task.cancel()
                await task.value
            }
            await verifier.stop()
            for copy in background.copies.values {
                copy.cancel()
                await copy.value
            }
            // A compaction under way is waited for, not cancelled.
            await background.compaction?.value
        } else {
            await verifier.stop()
        }
        await monitoring?.stop()
        await listener.close(grace: grace)
        await pool.closeAll()
    }

    // MARK: Requests

    private func handle(_ frame: Frame, on connection: Connection) async throws {
        switch frame.type {
        case MessageType.writeBlock.rawValue:
            do {
                try await writeBlock(frame.decode(WriteBlock.self), on: connection)
            } catch let error as DFSError where error.code != .connectionFailed && error.code != .timeout {
                // The sender streams the block right behind its request: after a refusal (of
                // a request with a bad value too) those frames cannot be read as requests, so
                // the connection ends after the reply.
                try? await connection.send(ErrorMessage(error), timeout: .seconds(1))
                await connection.close()
                throw DFSError(.connectionFailed, "write of a block refused: \(error.message)")
            }
        case MessageType.readBlock.rawValue:
            try await readBlock(frame.decode(ReadBlock.self), on: connection)
        case MessageType.readBlocks.rawValue:
            try await readBlocks(frame.decode(ReadBlocks.self), on: connection)
        case MessageType.writeBlocks.rawValue:
            // The blocks travel in the request's own payload: a refusal leaves the
            // connection in step, and the error reply is all the sender needs.
            let request = try frame.decode(WriteBlocks.self)
            // While the batch is flushed here and answered by the nodes after this one, the
            // sender hears progress (naming the batch's first block), as for `writeBlock`: a
            // slow flush is told apart from a hung node.
            let reply = try await connection.sendingProgress(
                for: request.blocks[0].blockID, every: options.timeouts.progressInterval, limit: options.timeouts.request,
                timeout: options.timeouts.stall
            ) { try await self.writeBlocks(request, payload: frame.payload) }
            try await connection.send(reply, timeout: options.timeouts.request)
        default:
            throw DFSError(.protocolError, "a data node does not serve '\(frame.type)' messages")
        }
    }
}
