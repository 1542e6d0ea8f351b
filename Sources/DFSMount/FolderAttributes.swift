import DFSCore

/// Folders' attributes as the mount last fetched them, kept for the attribute timeout.
///
/// The kernel drops its copy of a folder's attributes each time a name is created in it, and
/// asks again (with `default_permissions` it needs the folder's mode for the next lookup),
/// so a program filling a folder would cost a meta server round trip per file just to be
/// told what it was told a moment ago. The mount answers those from here for the attribute
/// timeout, the time the kernel itself may keep them. A folder's attributes do not change
/// when names are created in it (the cluster keeps no folder times beyond its creation);
/// chmod, chown, utimens and rmdir through the mount drop the folder's entry.
struct FolderAttributes {
    static let capacity = 4096

    let window: Duration
    private var held: [UInt64: (attributes: Attributes, at: ContinuousClock.Instant)] = [:]

    init(window: Duration) {
        self.window = window
    }

    var count: Int { held.count }

    /// The attributes of folder `inode`, when fetched less than the window ago.
    func attributes(of inode: UInt64, at now: ContinuousClock.Instant = .now) -> Attributes? {
        guard let entry = held[inode], now - entry.at < window else { return nil }
        return entry.attributes
    }

    /// Keeps `attributes` of a folder, fetched (or made) at `at`; anything else is ignored.
    mutating func keep(_ attributes: Attributes, at now: ContinuousClock.Instant = .now) {
        guard window > .zero, attributes.type == .dir else { return }
        if held.count >= Self.capacity {
            held = held.filter { now - $0.value.at < window }
            if held.count >= Self.capacity { held.removeAll(keepingCapacity: true) }
        }
        held[attributes.inode] = (attributes, now)
    }

    mutating func drop(_ inode: UInt64) {
        held[inode] = nil
    }
}
