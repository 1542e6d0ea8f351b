import DFSCore
import DFSMetrics
import Prometheus

/// The meta server's metrics (Docs/OPERATIONS.md lists them): the cluster as the server
/// sees it at each scrape (nodes by state, space, files, blocks by health, garbage waiting),
/// and counters of what it did (requests, repair copies, commit syncs).
public final class MetaMetrics: Sendable {
    public let server = ServerMetrics()
    let requests: RequestMetrics
    /// Repair copies ordered, and those that ended with the target holding the block.
    let repairCopiesStarted: Counter
    let repairCopies: Counter
    /// Each disk flush of the database log (the group commit's fdatasync).
    let commitSyncs: DurationHistogram
    /// 1 while this server is the active one, 0 for a standby.
    let active: Gauge
    private let nodes: [String: Gauge]
    private let capacity: Gauge
    private let used: Gauge
    private let files: Gauge
    private let bytes: Gauge
    private let blocks: [String: Gauge]
    private let corruptReplicas: Gauge
    private let garbage: Gauge
    private let pendingFiles: Gauge

    public init() {
        let server = self.server
        requests = RequestMetrics(server)
        repairCopiesStarted = server.counter("dfs_repair_copies_started_total", help: "Repair copies ordered from one node to another.")
        repairCopies = server.counter(
            "dfs_repair_copies_total", help: "Repair copies finished: the target node reported the block, or the block is whole again.")
        commitSyncs = server.durations(
            "dfs_commit_sync_duration_seconds", help: "Disk flushes of the namespace database's log, each shared by the commits waiting for it.")
        active = server.gauge(
            "dfs_meta_active", help: "1 while this meta server is the active one; 0 for a standby waiting to take over (PostgreSQL).")
        nodes = Dictionary(
            uniqueKeysWithValues: ["alive", "dead", "leaving"].map {
                ($0, server.gauge("dfs_nodes", [("state", $0)], help: "Registered data nodes by state: alive, dead (silent), leaving (a planned stop)."))
            })
        capacity = server.gauge("dfs_capacity_bytes", help: "Bytes the live data nodes can hold (used and free).")
        used = server.gauge("dfs_used_bytes", help: "Bytes the live data nodes hold.")
        files = server.gauge("dfs_files", help: "Files in the namespace.")
        bytes = server.gauge("dfs_file_bytes", help: "Bytes of all files in the namespace, each counted once (not per replica).")
        blocks = Dictionary(
            uniqueKeysWithValues: ["healthy", "under_replicated", "missing", "corrupt"].map {
                (
                    $0,
                    server.gauge(
                        "dfs_blocks", [("health", $0)],
                        help:
                            "Blocks by health: healthy, under_replicated (fewer good live replicas than asked), missing (none live), corrupt (only bad ones live)."
                    )
                )
            })
        corruptReplicas = server.gauge("dfs_corrupt_replicas", help: "Replicas their node found bad, waiting to be deleted once the block is whole.")
        garbage = server.gauge("dfs_garbage_blocks", help: "Replicas waiting for their node to delete them (deleted files, extra copies).")
        pendingFiles = server.gauge("dfs_pending_files", help: "Files being written (created, not yet complete).")
    }

    /// Reads the present from `service` into the gauges; run before each exposition.
    func collect(_ service: MetaService) async {
        guard let snapshot = try? await service.metricsSnapshot() else { return }
        let status = snapshot.status
        let tally = status.nodeTally
        for (state, count) in [("alive", tally.alive), ("dead", tally.dead), ("leaving", tally.leaving)] { nodes[state]?.set(Double(count)) }
        capacity.set(Double(tally.capacity))
        used.set(Double(tally.used))
        let totals = status.totals
        files.set(Double(totals.files))
        bytes.set(Double(totals.bytes))
        let unhealthy = totals.underReplicated + totals.missing + totals.corrupt
        blocks["healthy"]?.set(Double(max(0, totals.blocks - unhealthy)))
        blocks["under_replicated"]?.set(Double(totals.underReplicated))
        blocks["missing"]?.set(Double(totals.missing))
        blocks["corrupt"]?.set(Double(totals.corrupt))
        corruptReplicas.set(Double(totals.corruptReplicas ?? 0))
        garbage.set(Double(snapshot.garbage))
        pendingFiles.set(Double(snapshot.pendingFiles))
    }
}
