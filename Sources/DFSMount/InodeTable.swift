import DFSCore

/// The mount's inode numbers and the cluster paths they stand for.
///
/// The kernel names files by inode number; the cluster names them by path. An inode is made
/// when the kernel first learns of a path (a lookup, a create, a readdirplus entry) and is
/// kept while the kernel holds references to it: each time the mount hands it out counts one,
/// and `forget` gives them back. At zero it is dropped. Numbers are never reused, so a stale
/// number held by the kernel can never name another file. Pure state, no I/O: the service
/// keeps it under a lock and tests drive it directly.
struct InodeTable {
    /// The inode of the mount's root, as FUSE fixes it (FUSE_ROOT_ID).
    static let rootInode: UInt64 = 1

    struct Entry: Equatable {
        var path: DFSPath
        /// References the kernel holds: one per lookup reply, less what it forgot.
        var lookups: Int
        /// False once the path was removed or replaced: the kernel may still use the number
        /// (an open file), but a new file at the path gets a new inode.
        var linked = true
        /// The size the kernel was last given for the file, in an entry or attributes reply
        /// (see ``MountService/shown(_:)``).
        var shownSize: Int?
    }

    private(set) var entries: [UInt64: Entry]
    private var inodeByPath: [DFSPath: UInt64]
    private var nextInode: UInt64 = 2

    /// `root` is the cluster folder the mount shows at its top.
    init(root: DFSPath) {
        entries = [Self.rootInode: Entry(path: root, lookups: 1)]
        inodeByPath = [root: Self.rootInode]
    }

    /// How many inodes the kernel holds references to.
    var count: Int { entries.count }

    func path(of inode: UInt64) -> DFSPath? { entries[inode]?.path }

    func inode(of path: DFSPath) -> UInt64? { inodeByPath[path] }

    /// The inode for `path`, made if it has none, with one more reference for the kernel.
    mutating func remember(_ path: DFSPath) -> UInt64 {
        if let inode = inodeByPath[path] {
            entries[inode]!.lookups += 1
            return inode
        }
        let inode = nextInode
        nextInode += 1
        entries[inode] = Entry(path: path, lookups: 1)
        inodeByPath[path] = inode
        return inode
    }

    /// The kernel was given `size` for `inode` (see ``Entry/shownSize``); nil: unknown.
    mutating func noteShown(_ inode: UInt64, size: Int?) {
        entries[inode]?.shownSize = size
    }

    /// The kernel gives back `count` references; at zero the inode is gone. The root stays.
    mutating func forget(_ inode: UInt64, count: Int) {
        guard inode != Self.rootInode, var entry = entries[inode] else { return }
        entry.lookups -= count
        if entry.lookups > 0 {
            entries[inode] = entry
            return
        }
        entries[inode] = nil
        if inodeByPath[entry.path] == inode { inodeByPath[entry.path] = nil }
    }

    /// `path` was removed (or replaced): a later file of that name gets a new inode. Inodes
    /// under a removed folder are unlinked too.
    mutating func unlink(_ path: DFSPath) {
        for (inode, entry) in entries where inode != Self.rootInode && entry.linked && entry.path.isSelfOrDescendant(of: path) {
            entries[inode]!.linked = false
            if inodeByPath[entry.path] == inode { inodeByPath[entry.path] = nil }
        }
    }

    /// `source` now lives at `target`, and so does everything under it. Whatever was at
    /// `target` was replaced and is unlinked first.
    mutating func move(_ source: DFSPath, to target: DFSPath) {
        unlink(target)
        var moved: [(UInt64, DFSPath)] = []
        for (inode, entry) in entries where inode != Self.rootInode && entry.linked && entry.path.isSelfOrDescendant(of: source) {
            let suffix = entry.path.components.dropFirst(source.components.count)
            guard let newPath = try? DFSPath(([target.string] + suffix).joined(separator: "/")) else { continue }
            if inodeByPath[entry.path] == inode { inodeByPath[entry.path] = nil }
            moved.append((inode, newPath))
        }
        for (inode, newPath) in moved {
            entries[inode]!.path = newPath
            inodeByPath[newPath] = inode
        }
    }
}
