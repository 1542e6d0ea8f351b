import CFuse
import DFSCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `stat` shows for a file or folder of the mount.
///
/// The cluster stores no mode bits, owner or times other than the modification time yet:
/// files show as 0644 and folders as 0755, owned by the user who mounted, with every time
/// the modification time.
struct Attributes: Sendable {
    var inode: UInt64
    var isFolder: Bool
    var size: Int
    /// Seconds since 1970.
    var mtime: Double

    init(inode: UInt64, isFolder: Bool, size: Int, mtime: Double) {
        self.inode = inode
        self.isFolder = isFolder
        self.size = size
        self.mtime = mtime
    }

    init(inode: UInt64, _ info: FileInfo) {
        self.init(inode: inode, isFolder: info.type == .dir, size: info.size, mtime: info.mtime)
    }

    /// Reported as each file's preferred I/O size: reads and writes of this size go through
    /// FUSE in one request each (the kernel's largest, 1 MiB with max_pages).
    static let preferredIOBytes = 1024 * 1024

    func stat(owner: (uid: uid_t, gid: gid_t)) -> Glibc.stat {
        var result = Glibc.stat()
        result.st_ino = ino_t(inode)
        result.st_mode = isFolder ? (S_IFDIR | 0o755) : (S_IFREG | 0o644)
        result.st_nlink = isFolder ? 2 : 1
        result.st_uid = owner.uid
        result.st_gid = owner.gid
        result.st_size = off_t(size)
        result.st_blksize = blksize_t(Self.preferredIOBytes)
        result.st_blocks = blkcnt_t((size + 511) / 512)
        let seconds = mtime.rounded(.down)
        let time = timespec(tv_sec: Int(seconds), tv_nsec: Int((mtime - seconds) * 1_000_000_000))
        result.st_mtim = time
        result.st_atim = time
        result.st_ctim = time
        return result
    }
}
