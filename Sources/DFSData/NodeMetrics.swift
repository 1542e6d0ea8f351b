import DFSCore
import DFSMetrics
import Prometheus

/// A data node's metrics (Docs/OPERATIONS.md lists them): its space and blocks at each
/// scrape, and counters of the bytes it stored, served and scrubbed.
public final class NodeMetrics: Sendable {
    public let server = ServerMetrics()
    let requests: RequestMetrics
    /// Block bytes made durable here: uploads, pipeline copies, repair copies, small-file packs.
    private let bytesWritten: Counter
    /// Block bytes sent: to clients and to nodes receiving repair copies.
    private let bytesRead: Counter
    /// The same two totals, readable: heartbeats carry them to the meta server.
    private let totals = Mutex((written: 0, read: 0))
    /// Time from a block's (or pack's) hand-over to the group sync until it is on disk.
    let flushDurations: DurationHistogram
    let scrubbedBytes: Counter
    let corruptFound: Counter
    let capacity: Gauge
    let used: Gauge
    let blocks: Gauge
    let connections: Gauge
    let registered: Gauge

    public init() {
        let server = self.server
        requests = RequestMetrics(server)
        bytesWritten = server.counter(
            "dfs_node_bytes_written_total", help: "Block bytes made durable on this node (uploads, pipeline and repair copies, small-file packs).")
        bytesRead = server.counter("dfs_node_bytes_read_total", help: "Block bytes sent to clients and to nodes receiving repair copies.")
        flushDurations = server.durations(
            "dfs_node_block_flush_duration_seconds", help: "Time from a finished block's hand-over to the group sync until it is on disk.")
        scrubbedBytes = server.counter("dfs_node_scrubbed_bytes_total", help: "Block bytes the background scrubber re-read and verified.")
        corruptFound = server.counter(
            "dfs_node_corrupt_blocks_found_total", help: "Blocks found not to match their checksums (by the scrubber, a read or a verification).")
        capacity = server.gauge("dfs_node_capacity_bytes", help: "Bytes this node offers: its blocks plus the free space it may still fill.")
        used = server.gauge("dfs_node_used_bytes", help: "Bytes of the blocks stored on this node.")
        blocks = server.gauge("dfs_node_blocks", help: "Blocks stored on this node.")
        connections = server.gauge("dfs_node_connections", help: "Connections open to this node's block port.")
        registered = server.gauge("dfs_node_registered", help: "1 while the meta server has accepted this node's registration, else 0.")
    }

    /// Block bytes made durable here.
    func wrote(_ bytes: Int) {
        totals.withLock { $0.written = min(Limits.byteCounterMax, $0.written + bytes) }
        bytesWritten.increment(by: Int64(bytes))
    }

    /// Block bytes sent from here.
    func sent(_ bytes: Int) {
        totals.withLock { $0.read = min(Limits.byteCounterMax, $0.read + bytes) }
        bytesRead.increment(by: Int64(bytes))
    }

    /// Bytes written and sent since the node started.
    var byteTotals: (written: Int, read: Int) { totals.withLock { $0 } }
}
