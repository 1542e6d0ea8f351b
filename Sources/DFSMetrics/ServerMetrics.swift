import DFSCore
import Foundation
import Prometheus

/// One server's metrics, in the Prometheus text format (0.0.4).
///
/// Each server owns a registry of its own, so that several servers in one process (a test's
/// cluster) keep their figures apart. Counters and histograms are updated where things
/// happen; values that are a reading of the present (nodes alive, blocks by health, memory)
/// are taken by collectors that run just before each exposition, so a scrape shows the
/// state at that moment, not at the last heartbeat's.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let collectors = Mutex<[@Sendable () async -> Void]>([])
    private let process: ProcessMetrics

    public init() {
        process = ProcessMetrics(registry)
        registry.gauge(
            "dfs_build_info", [("version", BuildInfo.version), ("protocol", String(protocolVersion))],
            help: "Always 1; the labels name this build of dfs and the protocol version it speaks."
        ).set(1.0)
    }

    /// Runs `collect` before every exposition, to set gauges that read the present.
    public func addCollector(_ collect: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    /// The text a `GET /metrics` returns: every collector run first.
    public func exposition() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect() }
        process.update()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Bucket bounds for durations from a tenth of a millisecond to ten seconds: a request
    /// answered from memory, one that waits for a disk flush, one that waits for a network.
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// A gauge of this registry; the same one each time for the same name and labels.
    public func gauge(_ name: String, _ labels: [(String, String)] = [], help: String) -> Gauge {
        registry.gauge(name, labels, help: help)
    }

    /// A counter of this registry; the same one each time for the same name and labels.
    public func counter(_ name: String, _ labels: [(String, String)] = [], help: String) -> Counter {
        registry.counter(name, labels, help: help)
    }

    /// A histogram of durations (in seconds) with ``durationBuckets``.
    public func durations(_ name: String, _ labels: [(String, String)] = [], help: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: .named(name, help: help), labels: labels, buckets: Self.durationBuckets)
    }
}

extension MetricNameDescriptor {
    /// A whole metric name, unit included (`dfs_used_bytes`), and its help line.
    static func named(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

extension PrometheusCollectorRegistry {
    func gauge(_ name: String, _ labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: .named(name, help: help), labels: labels)
    }

    func counter(_ name: String, _ labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: .named(name, help: help), labels: labels)
    }
}
