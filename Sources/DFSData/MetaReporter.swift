import DFSCore
import DFSNet

/// Keeps the meta server informed: registers, sends the full block list, then sends
/// heartbeats (space, block changes) and carries out the commands in their replies; starts
/// over whenever the meta server cannot be reached or has forgotten the node.
struct MetaReporter: Sendable {
    let options: DataServer.Options
    /// The meta servers, and the one the node reports to now.
    let metas: MetaServers
    let store: BlockStore
    /// The port the node listens on, as it tells the meta server.
    let port: Int
    let pool: ConnectionPool
    let state: DataServerState
    let verifier: BlockVerifier
    let copier: RepairCopier
    let compactor: PackCompactor

    /// Runs until cancelled (the node leaves or stops).
    func run() async {
        var loggedFailure = false
        while !Task.isCancelled {
            do {
                let suggested = try await register()
                let interval = options.heartbeatInterval ?? suggested
                try await sendFullReport()
                await state.metaReached()
                loggedFailure = false
                try await heartbeatUntilForgotten(interval: interval)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled {
                    await state.metaFailed(nil)
                    return
                }
                let failure = DFSError.wrap(error)
                await state.metaFailed(failure)
                if !loggedFailure {
                    Log.warn(DataServer.component, "cannot reach meta server \(metas.current): \(failure.message); retrying every \(options.retryInterval)")
                    loggedFailure = true
                }
                try? await Task.sleep(for: options.retryInterval)
            }
        }
    }

    /// What the node offers: its blocks plus the space it may still fill. A full node reports
    /// capacity equal to used, and placement passes it by. At most ``Limits/nodeBytesMax``,
    /// which the meta server refuses to exceed.
    private var capacityBytes: Int { Self.capacityBytes(of: store, options: options) }

    static func capacityBytes(of store: BlockStore, options: DataServer.Options) -> Int {
        let available = options.faults.reportedFreeBytes ?? store.bytesAvailable(above: options.reserveBytes)
        return min(Limits.nodeBytesMax, store.usedBytes + min(Limits.nodeBytesMax, available))
    }

    /// The listen host when it names one interface; nil for a wildcard, so the meta server
    /// uses the address it sees the node connect from.
    private var advertisedListenHost: String? {
        let host = options.listen.host
        return host.isEmpty || host == "0.0.0.0" || host == "::" ? nil : host
    }

    private func register() async throws -> Duration {
        let request = RegisterNode(
            nodeID: store.nodeID, host: options.advertiseHost ?? advertisedListenHost, port: port,
            capacityBytes: capacityBytes, usedBytes: store.usedBytes, blockCount: store.blockCount)
        let reply = try await pool.request(request, to: metas, expecting: RegisterNodeOK.self)
        Log.info(DataServer.component, "registered with meta server \(metas.current) as \(reply.address)")
        return .milliseconds(max(50, reply.heartbeatMilliseconds))
    }

    /// The node's whole block list, in pages. Changes recorded before it are moot: the list
    /// says where everything stands.
    private func sendFullReport() async throws {
        store.clearAddedAndDeleted()
        let blocks = store.summaries
        let reportID = UInt64.random(in: 1...UInt64.max)
        var start = 0
        repeat {
            let page = Array(blocks[start..<min(start + BlockReport.blocksPerPage, blocks.count)])
            start += page.count
            let report = BlockReport(nodeID: store.nodeID, reportID: reportID, blocks: page, last: start >= blocks.count)
            _ = try await pool.request(report, to: metas, expecting: OK.self)
        } while start < blocks.count
    }

    private func heartbeatUntilForgotten(interval: Duration) async throws {
        var lastFullReport = ContinuousClock.now
        while true {
            try await Task.sleep(for: interval)
            if ContinuousClock.now - lastFullReport >= options.fullReportInterval {
                try await sendFullReport()
                lastFullReport = .now
            }
            let changes = store.takeChanges(limit: Heartbeat.changesMax)
            let beat = Heartbeat(
                nodeID: store.nodeID, capacityBytes: capacityBytes, usedBytes: store.usedBytes,
                blockCount: store.blockCount, copiesInFlight: await state.copiesInFlight,
                added: changes.added, deleted: changes.deleted, corrupt: changes.corrupt,
                verified: changes.verified.isEmpty ? nil : changes.verified, bytesWritten: store.metrics.byteTotals.written,
                bytesRead: store.metrics.byteTotals.read)
            let reply: HeartbeatOK
            do {
                reply = try await pool.request(beat, to: metas, expecting: HeartbeatOK.self)
            } catch {
                store.restoreChanges(changes)
                throw error
            }
            switch HeartbeatActions(reply) {
            case .registerAgain:
                store.restoreChanges(changes)
                return
            case .carryOut(let work):
                try await store.delete(work.deleteBlocks)
                if work.compact { await state.startCompaction(compactor) }
                for command in work.copyBlocks { await copier.start(command, in: state) }
                verifier.enqueue(work.verifyBlocks)
            }
        }
    }
}
