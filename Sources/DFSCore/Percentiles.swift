/// The median and the 99th percentile of measured latencies, by nearest rank: the smallest
/// sample that at least that share of the samples do not exceed (so the p99 of 100 samples
/// is the 99th smallest, and of 50 samples the largest). A benchmark's figures, in whatever
/// unit the samples are.
public struct Percentiles: Equatable, Sendable {
    public let count: Int
    public let p50: Double
    public let p99: Double

    /// The percentiles of `samples`, in any order; zeros when there are none.
    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        p50 = Self.nearestRank(0.50, of: sorted)
        p99 = Self.nearestRank(0.99, of: sorted)
    }

    /// The sample at `fraction` (0 to 1) of `sorted`, by nearest rank; 0 when it is empty.
    public static func nearestRank(_ fraction: Double, of sorted: [Double]) -> Double {
        precondition((0...1).contains(fraction), "a percentile is a fraction from 0 to 1")
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
