import DFSCore

/// The cluster's activity over the last minutes, for the status page's charts: requests the
/// meta server answered and block bytes the data nodes wrote and sent, sampled every few
/// seconds.
///
/// Bytes come from the nodes' heartbeats (`bytesWritten`, `bytesRead`: each node's totals
/// since it started). The cluster's totals add up each node's increases, so a node that
/// restarts (its totals start again at zero) neither subtracts nor counts twice.
public struct ThroughputHistory: Sendable {
    struct Sample: Sendable, Equatable {
        /// Seconds on the meta server's clock.
        var time: Double
        var requests: Int
        var bytesWritten: Int
        var bytesRead: Int
    }

    /// One rate over one interval between samples.
    public struct Rate: Sendable, Equatable {
        public var time: Double
        public var requestsPerSecond: Double
        public var bytesWrittenPerSecond: Double
        public var bytesReadPerSecond: Double
    }

    public static let interval = 5.0
    /// Samples kept: ten minutes at the interval.
    public static let samplesMax = 121

    private(set) var samples: [Sample] = []
    private var lastNodeTotals: [NodeID: (written: Int, read: Int)] = [:]
    private var bytesWritten = 0
    private var bytesRead = 0

    /// A node's totals from a heartbeat.
    mutating func note(_ node: NodeID, written: Int?, read: Int?) {
        guard let written, let read else { return }
        let last = lastNodeTotals[node]
        // Totals below the last ones: the node started again from zero.
        bytesWritten += written >= (last?.written ?? 0) ? written - (last?.written ?? 0) : written
        bytesRead += read >= (last?.read ?? 0) ? read - (last?.read ?? 0) : read
        bytesWritten = min(bytesWritten, Limits.byteCounterMax)
        bytesRead = min(bytesRead, Limits.byteCounterMax)
        lastNodeTotals[node] = (written, read)
    }

    /// Takes a sample when the interval has passed since the last one.
    mutating func sample(now: Double, requests: Int) {
        if let last = samples.last, now - last.time < Self.interval { return }
        samples.append(Sample(time: now, requests: requests, bytesWritten: bytesWritten, bytesRead: bytesRead))
        if samples.count > Self.samplesMax { samples.removeFirst(samples.count - Self.samplesMax) }
    }

    /// The rate over each interval between consecutive samples, oldest first.
    var rates: [Rate] {
        zip(samples, samples.dropFirst()).compactMap { earlier, later in
            let seconds = later.time - earlier.time
            guard seconds > 0 else { return nil }
            return Rate(
                time: later.time, requestsPerSecond: Double(max(0, later.requests - earlier.requests)) / seconds,
                bytesWrittenPerSecond: Double(max(0, later.bytesWritten - earlier.bytesWritten)) / seconds,
                bytesReadPerSecond: Double(max(0, later.bytesRead - earlier.bytesRead)) / seconds)
        }
    }
}
