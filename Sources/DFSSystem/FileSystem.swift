import DFSCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The project's calls on paths (as ``OpenFile`` holds its calls on open files): folders,
/// names, renames made durable, sizes. Each failure is a ``SystemError`` naming the path.
public enum FileSystem {
    /// mkdir(2) of one folder. Returns false when it was already there, true when made.
    @discardableResult
    public static func makeFolder(_ path: String, permissions: FilePermissions = .folderDefault) throws(SystemError) -> Bool {
        guard Glibc.mkdir(path, permissions.rawValue) != 0 else { return true }
        if Glibc.errno == EEXIST { return false }
        throw .current("mkdir", path)
    }

    /// mkdir -p: the folder and every missing folder above it. Returns false when the
    /// folder was already there.
    @discardableResult
    public static func makeFolders(_ path: String, permissions: FilePermissions = .folderDefault) throws(SystemError) -> Bool {
        do {
            return try makeFolder(path, permissions: permissions)
        } catch  where error.errno == .noSuchFileOrDirectory {
            let parent = FilePath(path).removingLastComponent()
            guard !parent.isEmpty, parent.string != path else { throw error }
            try makeFolders(parent.string, permissions: permissions)
            return try makeFolder(path, permissions: permissions)
        }
    }

    /// unlink(2). A file already gone is not an error.
    public static func remove(_ path: String) throws(SystemError) {
        guard Glibc.unlink(path) != 0, Glibc.errno != ENOENT else { return }
        throw .current("unlink", path)
    }

    /// unlink(2), for files whose removal is only tidying (temp files after a failure): a
    /// failure is not reported.
    public static func removeQuietly(_ path: String) {
        _ = Glibc.unlink(path)
    }

    /// rmdir(2) of an empty folder.
    public static func removeFolder(_ path: String) throws(SystemError) {
        guard Glibc.rmdir(path) != 0 else { return }
        throw .current("rmdir", path)
    }

    /// Removes a file, or a folder with everything in it (symbolic links are removed, never
    /// followed; names need not be UTF-8). Nothing there is not an error.
    public static func removeTree(_ path: String) throws(SystemError) {
        try removeTree(bytes: Array(path.utf8))
    }

    private static func removeTree(bytes path: [UInt8]) throws(SystemError) {
        let shown = String(decoding: path, as: UTF8.self)
        guard let status = try linkStatus(path) else { return }
        let terminated = path + [0]
        if status.kind == .folder {
            for name in try namesInFolder(shown, bytes: path) { try removeTree(bytes: path + [UInt8(ascii: "/")] + name) }
            let result = terminated.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { Glibc.rmdir($0.baseAddress!) } }
            guard result == 0 else { throw .current("rmdir", shown) }
        } else {
            let result = terminated.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { Glibc.unlink($0.baseAddress!) } }
            guard result == 0 || Glibc.errno == ENOENT else { throw .current("unlink", shown) }
        }
    }

    /// rename(2): `target` now names what `source` named. Not yet durable: see
    /// ``renameAndSyncFolder(_:to:)``.
    public static func rename(_ source: String, to target: String) throws(SystemError) {
        guard Glibc.rename(source, target) != 0 else { return }
        throw .current("rename", source)
    }

    /// rename(2), then fsync(2) of the target's folder: the new name survives a crash when
    /// this returns. The file's bytes must have been flushed before.
    public static func renameAndSyncFolder(_ source: String, to target: String) throws(SystemError) {
        try rename(source, to: target)
        try syncFolder(FilePath(target).removingLastComponent().string)
    }

    /// fsync(2) of a folder, so the names made or removed in it reach the disk.
    public static func syncFolder(_ path: String) throws(SystemError) {
        let folder = try OpenFile.openFolder(path.isEmpty ? "." : path)
        defer { folder.close() }
        try folder.sync()
    }

    /// stat(2) of a path, following symbolic links.
    public static func status(_ path: String) throws(SystemError) -> FileStatus {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .current("stat", path) }
        return FileStatus(info)
    }

    /// stat(2) of a path, nil when nothing is there.
    public static func statusIfPresent(_ path: String) throws(SystemError) -> FileStatus? {
        do {
            return try status(path)
        } catch  where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    /// True when stat(2) finds something at `path` (a symbolic link counts when its target
    /// is there), as `test -e` answers.
    public static func exists(_ path: String) -> Bool {
        (try? status(path)) != nil
    }

    /// The names in a folder but "." and "..", in the order readdir(3) gives them.
    public static func contentsOfFolder(_ path: String) throws(SystemError) -> [String] {
        try namesInFolder(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The names in a folder but "." and "..", as the file system holds them: bytes, which
    /// need not be UTF-8.
    public static func namesInFolder(_ path: String) throws(SystemError) -> [[UInt8]] {
        try namesInFolder(path, bytes: Array(path.utf8))
    }

    private static func namesInFolder(_ shown: String, bytes path: [UInt8]) throws(SystemError) -> [[UInt8]] {
        let opened = (path + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { opendir($0.baseAddress!) } }
        guard let handle = opened else { throw .current("opendir", shown) }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(handle) else {
                if Glibc.errno != 0 { throw .current("readdir", shown) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != Array(".".utf8) && name != Array("..".utf8) { names.append(name) }
        }
    }

    /// lstat(2) of a path given as bytes (a name need not be UTF-8): a symbolic link is
    /// described, not followed. Nil when nothing is there any more.
    public static func linkStatus(_ path: [UInt8]) throws(SystemError) -> FileStatus? {
        var info = stat()
        let result = (path + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &info) } }
        guard result == 0 else {
            if Glibc.errno == ENOENT { return nil }
            throw .current("lstat", String(decoding: path, as: UTF8.self))
        }
        return FileStatus(info)
    }

    /// What the symbolic link at `path` points to, as bytes (readlink(2)).
    public static func linkTarget(_ path: String) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { readlink(path, $0.baseAddress!, $0.count) }
        }
        guard count >= 0 else { throw .current("readlink", path) }
        return Array(buffer.prefix(count))
    }

    /// Makes a symbolic link at `path` pointing to `target` (symlink(2)).
    public static func makeSymbolicLink(at path: String, to target: String) throws(SystemError) {
        guard symlink(target, path) == 0 else { throw .current("symlink", path) }
    }

    /// Bytes an unprivileged user may still write on the file system that holds `path`
    /// (statvfs(3)).
    public static func freeBytes(_ path: String) throws(SystemError) -> Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { throw .current("statvfs", path) }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Makes `path` hold `bytes` (created, or emptied first), not flushed.
    public static func write(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let file = try OpenFile.createOrTruncate(path)
        defer { file.close() }
        try file.writeAll(bytes)
    }

    /// The whole contents of a small file (open, read to its end, close).
    public static func contents(of path: String) throws(SystemError) -> [UInt8] {
        let file = try OpenFile.openForReading(path)
        defer { file.close() }
        return try file.readToEnd()
    }
}

extension FilePermissions {
    /// rwxr-xr-x, the mode of every folder the project makes.
    public static let folderDefault: FilePermissions = [.ownerReadWriteExecute, .groupReadExecute, .otherReadExecute]
}
