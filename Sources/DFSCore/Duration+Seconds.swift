extension Duration {
    /// This duration in seconds, with its fraction: `.milliseconds(1500)` is 1.5. For sums
    /// with the `Double` times the meta server keeps, and for rates (bytes per second).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// This duration in whole milliseconds, the fraction of a millisecond dropped (toward
    /// zero): the unit replies and flags state waits in.
    public var inMilliseconds: Int {
        Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }

    /// This duration in whole nanoseconds, the fraction dropped: the unit Dispatch's timers
    /// take. Saturates at `Int64.max` rather than overflowing.
    public var inNanoseconds: Int64 {
        // 9e9 s (285 years) is the most Int64 nanoseconds hold with room to spare.
        guard (-9_000_000_000..<9_000_000_000).contains(components.seconds) else { return components.seconds < 0 ? .min : .max }
        return components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
