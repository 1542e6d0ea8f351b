import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `stat` shows for a file, folder or symbolic link of the mount.
///
/// Mode bits, owner and group are the cluster's (``FileInfo/mode``, ``FileInfo/uid``,
/// ``FileInfo/gid``); what was never set shows as ``FileInfo/shownMode``'s defaults and the
/// user who mounted. The cluster keeps one time per entry: access and change times show the
/// modification time. A link's size is its target's length, as `lstat` gives it.
struct Attributes: Sendable {
    var inode: UInt64
    var type: EntryType
    var size: Int
    /// Seconds since 1970.
    var mtime: Double
    /// Permission bits, at most 0o7777.
    var mode: Int
    /// Owner and group; nil shows the user who mounted.
    var uid: Int?
    var gid: Int?

    init(inode: UInt64, type: EntryType, size: Int, mtime: Double, mode: Int? = nil, uid: Int? = nil, gid: Int? = nil) {
        self.inode = inode
        self.type = type
        self.size = size
        self.mtime = mtime
        self.mode = mode ?? FileInfo(path: .root, type: type, size: 0, mtime: 0, replication: 0, blockBytes: 0).shownMode
        self.uid = uid
        self.gid = gid
    }

    init(inode: UInt64, _ info: FileInfo) {
        self.init(inode: inode, type: info.type, size: info.size, mtime: info.mtime, mode: info.shownMode, uid: info.uid, gid: info.gid)
    }

    var isFolder: Bool { type == .dir }

    /// Mode, owner, group and time set through the mount and not stored yet, shown over
    /// these attributes.
    func with(_ pending: PendingAttributes?) -> Attributes {
        guard let pending else { return self }
        var result = self
        if let mode = pending.mode { result.mode = mode }
        if let uid = pending.uid { result.uid = uid }
        if let gid = pending.gid { result.gid = gid }
        if let mtime = pending.mtime { result.mtime = mtime }
        return result
    }

    /// Reported as each file's preferred I/O size: reads and writes of this size go through
    /// FUSE in one request each (the kernel's largest, 1 MiB with max_pages).
    static let preferredIOBytes = 1024 * 1024

    /// The `S_IF*` bits of an entry type.
    static func fileType(_ type: EntryType) -> mode_t {
        switch type {
        case .file: S_IFREG
        case .dir: S_IFDIR
        case .link: S_IFLNK
        }
    }

    func stat(owner: (uid: uid_t, gid: gid_t)) -> Glibc.stat {
        var result = Glibc.stat()
        result.st_ino = ino_t(inode)
        result.st_mode = Self.fileType(type) | mode_t(mode & 0o7777)
        result.st_nlink = isFolder ? 2 : 1
        result.st_uid = uid.map { uid_t(truncatingIfNeeded: $0) } ?? owner.uid
        result.st_gid = gid.map { gid_t(truncatingIfNeeded: $0) } ?? owner.gid
        result.st_size = off_t(size)
        result.st_blksize = blksize_t(Self.preferredIOBytes)
        result.st_blocks = type == .file ? blkcnt_t((size + 511) / 512) : 0
        let seconds = mtime.rounded(.down)
        let time = timespec(tv_sec: Int(seconds), tv_nsec: Int((mtime - seconds) * 1_000_000_000))
        result.st_mtim = time
        result.st_atim = time
        result.st_ctim = time
        return result
    }
}

/// Mode, owner, group or modification time set through the mount on a file open for
/// writing, kept until the file's next upload and stored right after it: a new file is not
/// in the cluster before its upload, and an upload makes a new version with the upload's
/// time (it keeps the old version's mode and owner). Nil fields are unchanged.
struct PendingAttributes: Sendable, Equatable {
    var mode: Int?
    var uid: Int?
    var gid: Int?
    var mtime: Double?

    /// `newer` over these.
    func merged(with newer: PendingAttributes) -> PendingAttributes {
        PendingAttributes(mode: newer.mode ?? mode, uid: newer.uid ?? uid, gid: newer.gid ?? gid, mtime: newer.mtime ?? mtime)
    }

    var isEmpty: Bool { mode == nil && uid == nil && gid == nil && mtime == nil }

    /// What is left to store once `stored` was: the fields that still differ from it (one
    /// set again meanwhile stays); nil when nothing is.
    func removing(_ stored: PendingAttributes) -> PendingAttributes? {
        var left = self
        if left.mode == stored.mode { left.mode = nil }
        if left.uid == stored.uid { left.uid = nil }
        if left.gid == stored.gid { left.gid = nil }
        if left.mtime == stored.mtime { left.mtime = nil }
        return left.isEmpty ? nil : left
    }
}
