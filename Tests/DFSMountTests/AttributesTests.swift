import DFSCore
import Testing

@testable import DFSMount

#if canImport(Glibc)
    import Glibc
#endif

/// What `stat` shows for the cluster's files, folders and links.
struct AttributesTests {
    let owner: (uid: uid_t, gid: gid_t) = (1000, 100)

    @Test func linkIsSymbolicLinkSizedByItsTarget() throws {
        let info = FileInfo(path: try DFSPath("/a/link"), type: .link, size: 9, mtime: 5, replication: 0, blockBytes: 0, target: "../target")
        let stat = Attributes(inode: 7, info).stat(owner: owner)
        #expect(stat.st_mode == S_IFLNK | 0o777)
        #expect(stat.st_size == 9)
        #expect(stat.st_blocks == 0)
        #expect(stat.st_nlink == 1)
    }

    @Test func unsetModeAndOwnerShowDefaultsAndTheMountingUser() throws {
        let file = FileInfo(path: try DFSPath("/f"), type: .file, size: 1000, mtime: 5, replication: 3, blockBytes: 1024)
        let folder = FileInfo(path: try DFSPath("/d"), type: .dir, size: 0, mtime: 5, replication: 0, blockBytes: 0)
        let fileStat = Attributes(inode: 2, file).stat(owner: owner)
        #expect(fileStat.st_mode == S_IFREG | 0o644)
        #expect(fileStat.st_uid == 1000 && fileStat.st_gid == 100)
        #expect(fileStat.st_blocks == 2)
        let folderStat = Attributes(inode: 3, folder).stat(owner: owner)
        #expect(folderStat.st_mode == S_IFDIR | 0o755)
        #expect(folderStat.st_nlink == 2)
    }

    @Test func storedModeAndOwnerShowAsStored() throws {
        let file = FileInfo(
            path: try DFSPath("/f"), type: .file, size: 0, mtime: 1.5, replication: 3, blockBytes: 1024, mode: 0o4750, uid: 0, gid: 65534)
        let stat = Attributes(inode: 2, file).stat(owner: owner)
        #expect(stat.st_mode == S_IFREG | 0o4750)
        #expect(stat.st_uid == 0 && stat.st_gid == 65534)
        #expect(stat.st_mtim.tv_sec == 1 && stat.st_mtim.tv_nsec == 500_000_000)
    }

    @Test func pendingChangesShowOverTheStoredOnesAndMergeNewestFirst() {
        let base = Attributes(inode: 4, type: .file, size: 3, mtime: 10, mode: 0o600, uid: 5, gid: 6)
        let first = PendingAttributes(mode: 0o640, uid: 7)
        let merged = first.merged(with: PendingAttributes(mode: 0o444, mtime: 20))
        #expect(merged == PendingAttributes(mode: 0o444, uid: 7, gid: nil, mtime: 20))
        let shown = base.with(merged)
        #expect(shown.mode == 0o444 && shown.uid == 7 && shown.gid == 6 && shown.mtime == 20)
        #expect(base.with(nil).mode == 0o600)
        #expect(PendingAttributes().isEmpty && !first.isEmpty)
    }

    /// libfuse's FUSE_SET_ATTR_* bits (fuse_lowlevel.h), which this target does not import.
    static let (setMode, setUID, setGID, setATime, setMTime, setMTimeNow): (Int32, Int32, Int32, Int32, Int32, Int32) = (
        1 << 0, 1 << 1, 1 << 2, 1 << 4, 1 << 5, 1 << 8
    )

    @Test func setattrTakesModeOwnerAndModificationTimeOnly() {
        var stat = Glibc.stat()
        stat.st_mode = S_IFREG | 0o2755
        stat.st_uid = 12
        stat.st_gid = 34
        stat.st_mtim = timespec(tv_sec: 100, tv_nsec: 250_000_000)
        let all = FuseOperations.changes(stat, fields: Self.setMode | Self.setUID | Self.setGID | Self.setMTime)
        #expect(all == PendingAttributes(mode: 0o2755, uid: 12, gid: 34, mtime: 100.25))
        #expect(FuseOperations.changes(stat, fields: Self.setATime).isEmpty)
        #expect(FuseOperations.changes(stat, fields: Self.setMTime | Self.setMTimeNow).mtime ?? 0 > 1_700_000_000)
    }
}
