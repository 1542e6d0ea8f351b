import DFSCore

/// How long a block read may go without its first verified bytes before a second read of
/// the block starts from another replica (a hedged read, as HDFS has). Pure, for unit tests.
///
/// Adaptive: ``multiple`` times the median of the recent times to first byte, so a read
/// that is merely as slow as usual is not doubled, never less than ``floor`` (a hedge costs
/// the cluster a second read; reads that start within a few hundred milliseconds are not
/// worth one) and never more than `ceiling` (the stall time, after which the read counts
/// as hung anyway). The median ignores the odd slow read, which a mean would not.
public struct HedgeDelay: Sendable {
    public static let floor: Duration = .milliseconds(300)
    public static let multiple = 3
    /// Recent samples kept: enough for a stable median, few enough to follow a change.
    public static let samplesMax = 32

    public let ceiling: Duration
    private var samples: [Duration] = []
    /// Where the next sample goes once ``samplesMax`` are kept (the oldest is replaced).
    private var nextSlot = 0

    public init(ceiling: Duration) {
        self.ceiling = max(ceiling, Self.floor)
    }

    /// A read's time from its start (connecting included) to its first verified bytes.
    public mutating func record(_ timeToFirstByte: Duration) {
        let sample = max(.zero, timeToFirstByte)
        if samples.count < Self.samplesMax {
            samples.append(sample)
        } else {
            samples[nextSlot] = sample
            nextSlot = (nextSlot + 1) % Self.samplesMax
        }
    }

    public var sampleCount: Int { samples.count }

    /// The current delay: the floor until a sample has come.
    public var delay: Duration {
        guard !samples.isEmpty else { return Self.floor }
        let sorted = samples.sorted()
        let median = sorted[sorted.count / 2]
        return min(ceiling, max(Self.floor, median * Self.multiple))
    }
}
