import DFSCore
import Prometheus

/// `dfs_requests_total{type}`, `dfs_request_errors_total{type}` and
/// `dfs_request_duration_seconds{type}`: every request a server answered, by message type.
///
/// Types are the protocol's (``MessageType``); anything else a peer sends is counted as
/// `other`, so a peer cannot grow the label set.
public final class RequestMetrics: Sendable {
    private struct Series: Sendable {
        let requests: Counter
        let errors: Counter
        let durations: DurationHistogram
    }
    private let metrics: ServerMetrics
    /// Series are made at a type's first request: a scrape lists the types served. With
    /// them, the count of every request so far (the status page charts its rate).
    private let series = Mutex<(byType: [String: Series], total: Int)>(([:], 0))

    public init(_ metrics: ServerMetrics) {
        self.metrics = metrics
    }

    private func make(_ type: String) -> Series {
        Series(
            requests: metrics.counter("dfs_requests_total", [("type", type)], help: "Requests answered, by message type."),
            errors: metrics.counter("dfs_request_errors_total", [("type", type)], help: "Requests answered with an error, by message type."),
            durations: metrics.durations(
                "dfs_request_duration_seconds", [("type", type)], help: "Time from a request's arrival to its answer, by message type."))
    }

    /// One request of `type` answered after `duration`, failed or not.
    public func observe(type: String, duration: Duration, failed: Bool) {
        let label = MessageType(rawValue: type) == nil ? "other" : type
        let entry = series.withLock { series in
            series.total += 1
            if let known = series.byType[label] { return known }
            let made = make(label)
            series.byType[label] = made
            return made
        }
        entry.requests.increment()
        if failed { entry.errors.increment() }
        entry.durations.record(duration)
    }

    /// Requests answered so far, of every type.
    public var total: Int { series.withLock { $0.total } }
}
