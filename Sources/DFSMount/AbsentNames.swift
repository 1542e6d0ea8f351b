import DFSCore

/// Paths the cluster just said do not exist, kept for a moment: a create with O_EXCL right
/// after the kernel's lookup of the same name (as `cp` sends for every file it copies) need
/// not ask the cluster a second time.
///
/// The moment is the entry timeout, the time the kernel itself may keep a name it was given
/// without asking again; a path is taken out when used. O_EXCL through one mount stays
/// exclusive whatever this says (the kernel holds the folder locked across lookup and
/// create); across mounts, it never was (see ARCHITECTURE.md).
struct AbsentNames {
    /// Paths kept at most; a full table drops its expired paths, then everything.
    static let capacity = 4096

    let window: Duration
    /// By the path's bytes: two spellings of one accented name are two paths in the cluster.
    private var seen: [[UInt8]: ContinuousClock.Instant] = [:]

    init(window: Duration) {
        self.window = window
    }

    var count: Int { seen.count }

    mutating func remember(_ path: DFSPath, at now: ContinuousClock.Instant = .now) {
        guard window > .zero else { return }
        if seen.count >= Self.capacity {
            seen = seen.filter { now - $0.value < window }
            if seen.count >= Self.capacity { seen.removeAll(keepingCapacity: true) }
        }
        seen[Array(path.string.utf8)] = now
    }

    /// True when `path` was found absent less than the window ago; forgets it either way.
    mutating func take(_ path: DFSPath, at now: ContinuousClock.Instant = .now) -> Bool {
        guard let at = seen.removeValue(forKey: Array(path.string.utf8)) else { return false }
        return now - at < window
    }
}
