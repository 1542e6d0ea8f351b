import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

@testable import DFSMount

#if canImport(Glibc)
    import Glibc
#endif

/// `dfs mount` on a real cluster through the kernel's FUSE: programs write and read with
/// plain system calls, and the cluster holds exactly what they wrote.
///
/// Files are opened with O_CLOEXEC: tests running beside each other start shells, which
/// would inherit a descriptor without it, and their exit closes that copy, which FUSE
/// reports as a flush (an upload) at a moment the test does not choose.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountTests {
    /// `cp -a` of a tree of a few hundred small files and a file of several blocks into the
    /// mount: `diff -r` finds no difference, and the client reads back the same bytes.
    @Test func copiedTreeDiffsCleanAndReadsBackThroughTheClient() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        var expected: [String: [UInt8]] = [:]
        for index in 0..<240 {
            let name = "tree/d\(index % 6)/f\(index)"
            if index < 6 { try FileSystem.makeFolders(local.path("tree/d\(index)")) }
            expected[name] = try local.writeRandomFile(name, count: (index * 997) % 20_000, seed: UInt64(100 + index))
        }
        expected["tree/large"] = try local.writeRandomFile("tree/large", count: 3 * 1_048_576 + 12_345, seed: 99)
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let copy = try await Posix.shell("cp -a '\(local.path("tree"))' '\(mount.path("tree"))'")
                #expect(copy.status == 0, "\(copy.standardError)")
                let diff = try await Posix.shell("diff -r '\(local.path("tree"))' '\(mount.path("tree"))'")
                #expect(diff.status == 0, "\(diff.standardOutput)\(diff.standardError)")
            }
            // The mount is gone; the cluster has every file, byte for byte.
            for (name, bytes) in expected {
                let file = try await cluster.client.stat(try DFSPath("/" + name))
                #expect(file.info.size == bytes.count, "\(name)")
            }
            let large = try DFSPath("/tree/large")
            #expect(try await cluster.client.stat(large).blocks.count == 4)
            try await cluster.client.download(large, to: local.path("large.back"))
            #expect(try FileSystem.contents(of: local.path("large.back")) == expected["tree/large"])
            for index in stride(from: 0, to: 240, by: 37) {
                let name = "tree/d\(index % 6)/f\(index)"
                try await cluster.client.download(try DFSPath("/" + name), to: local.path("small.back"))
                #expect(try FileSystem.contents(of: local.path("small.back")) == expected[name], "\(name)")
            }
        }
    }

    /// mkdir, rmdir, unlink and rename answer as a local file system does, errnos included.
    @Test func namespaceCallsGiveTheErrnoOfALocalFileSystem() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let folder = mount.path("folder")
                #expect(try await Posix.errno { mkdir(folder, 0o755) } == 0)
                #expect(try await Posix.errno { mkdir(folder, 0o755) } == EEXIST)
                #expect(try await Posix.errno { rmdir(mount.path("missing")) } == ENOENT)
                #expect(try await Posix.errno { unlink(mount.path("missing")) } == ENOENT)
                #expect(try await Posix.errno { open(mount.path("missing"), O_RDONLY) } == ENOENT)
                #expect(try await Posix.errno { mkdir(mount.path("missing/child"), 0o755) } == ENOENT)
                try await write("first", to: folder + "/a.txt")
                try await write("second", to: mount.path("b.txt"))
                #expect(try await Posix.errno { rmdir(folder) } == ENOTEMPTY)
                #expect(try await Posix.errno { unlink(folder) } == EISDIR)
                #expect(try await Posix.errno { rmdir(mount.path("b.txt")) } == ENOTDIR)
                #expect(try await Posix.errno { symlink("b.txt", folder + "/a.txt") } == EEXIST)
                #expect(try await Posix.errno { link(mount.path("b.txt"), mount.path("hard")) } == EPERM)
                // A rename replaces a file; the old name is gone.
                #expect(try await Posix.errno { rename(mount.path("b.txt"), folder + "/a.txt") } == 0)
                #expect(try await read(folder + "/a.txt") == "second")
                #expect(try await Posix.errno { access(mount.path("b.txt"), F_OK) } == ENOENT)
                // A file onto a folder is EISDIR; a folder onto an empty folder replaces it.
                #expect(try await Posix.errno { rename(folder + "/a.txt", mount.path("empty")) } == 0)
                #expect(try await Posix.errno { mkdir(mount.path("other"), 0o755) } == 0)
                #expect(try await Posix.errno { rename(mount.path("empty"), mount.path("other")) } == EISDIR)
                #expect(try await Posix.errno { rename(folder, mount.path("other")) } == 0)
                #expect(try await Posix.errno { access(folder, F_OK) } == ENOENT)
                #expect(try await Posix.errno { rmdir(mount.path("other")) } == 0)
                let names = try await cluster.client.list(.root).entries.map(\.path.name)
                #expect(names == ["empty"])
            }
        }
    }

    /// A file being written is not in the cluster until it is closed (only the mount lists
    /// it); fsync uploads it and returns once the cluster has it; the close uploads what
    /// came after.
    @Test func fileAppearsInTheClusterOnFsyncAndOnClose() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let path = try DFSPath("/staged.txt")
                let fd = try await Subprocess.onOwnThread { open(mount.path("staged.txt"), O_CREAT | O_WRONLY | O_CLOEXEC | O_TRUNC, 0o644) }
                #expect(fd >= 0)
                defer { if fd >= 0 { close(fd) } }
                #expect(try await Posix.errno { Int32(Glibc.write(fd, "one,", 4)) } == 0)
                await #expect(throws: DFSError.self) { try await cluster.client.stat(path) }
                // The mount itself lists it, with its staged size, as a local folder would.
                let listed = try await Posix.shell("ls -l '\(mount.mountpoint)'")
                #expect(listed.standardOutput.contains(" 4 "), "\(listed.standardOutput)")
                #expect(listed.standardOutput.hasSuffix(" staged.txt\n"), "\(listed.standardOutput)")
                #expect(try await Posix.errno { fsync(fd) } == 0)
                #expect(try await cluster.client.stat(path).info.size == 4)
                #expect(try await Posix.errno { Int32(Glibc.write(fd, "two", 3)) } == 0)
                #expect(try await cluster.client.stat(path).info.size == 4)
                #expect(try await Posix.errno { close(fd) } == 0)
                let bytes = Mutex<[UInt8]>([])
                try await cluster.client.stream(path) { piece in bytes.withLock { $0 += piece } }
                #expect(String(decoding: bytes.withLock { $0 }, as: UTF8.self) == "one,two")
            }
        }
    }

    /// A file created and still open can be renamed (its bytes then reach the cluster under
    /// the new name) or unlinked (they never reach it), as on a local file system.
    @Test func fileOpenForWritingCanBeRenamedOrUnlinked() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let renamed = try await Posix.errno {
                    let fd = open(mount.path("new.txt"), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                    guard fd >= 0, Glibc.write(fd, "abc", 3) == 3, rename(mount.path("new.txt"), mount.path("moved.txt")) == 0,
                        Glibc.write(fd, "def", 3) == 3
                    else { return -1 }
                    return close(fd)
                }
                #expect(renamed == 0)
                let bytes = Mutex<[UInt8]>([])
                try await cluster.client.stream(try DFSPath("/moved.txt")) { piece in bytes.withLock { $0 += piece } }
                #expect(String(decoding: bytes.withLock { $0 }, as: UTF8.self) == "abcdef")
                let unlinked = try await Posix.errno {
                    let fd = open(mount.path("gone.txt"), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                    guard fd >= 0, Glibc.write(fd, "abc", 3) == 3, unlink(mount.path("gone.txt")) == 0 else { return -1 }
                    return close(fd)
                }
                #expect(unlinked == 0)
                let names = try await cluster.client.list(.root).entries.map(\.path.name)
                #expect(names == ["moved.txt"])
            }
        }
    }

    /// Staged files are bounded by --cache-size: a write past it fails with ENOSPC, and the
    /// close keeps what was written before, as a full local disk does; `df` shows the
    /// cluster's capacity.
    @Test func writeBeyondTheCacheSizeIsENOSPCAndStatfsShowsTheCluster() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)", arguments: ["--cache-size", "1MiB"]) { mount in
                let result = try await Posix.errno {
                    let fd = open(mount.path("big.bin"), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { return -1 }
                    let chunk = [UInt8](repeating: 7, count: 256 * 1024)
                    for _ in 0..<8 where Glibc.write(fd, chunk, chunk.count) < 0 {
                        let failure = Glibc.errno
                        close(fd)
                        Glibc.errno = failure
                        return -1
                    }
                    return close(fd)
                }
                #expect(result == ENOSPC)
                #expect(try await cluster.client.stat(try DFSPath("/big.bin")).info.size == 1024 * 1024)
                let status = try await cluster.client.status()
                let capacity = status.nodes.filter(\.alive).reduce(0) { $0 + $1.capacity }
                let totalBytes = try await Subprocess.onOwnThread { () -> Int in
                    var stats = statvfs()
                    return statvfs(mount.mountpoint, &stats) == 0 ? Int(stats.f_blocks) * Int(stats.f_frsize) : -1
                }
                // A node's capacity follows its disk, which other work fills meanwhile: the
                // two looks at it agree to within a percent, not to the byte.
                #expect(abs(totalBytes - capacity) <= capacity / 100, "statfs \(totalBytes), status \(capacity)")
            }
        }
    }

    /// A mount process killed with SIGKILL leaves its folder "not connected"; `dfs mount`
    /// on the same folder unmounts the stale mount and serves again. What the dead process
    /// had staged stays in the cache folder, beside the cluster path it was for.
    @Test func mountAfterAKilledMountProcessCleansUpAndServes() async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await cluster.client.makeDirectory(try DFSPath("/kept"))
            try await TestMount.with(meta) { mount in
                let fd = try await Subprocess.onOwnThread { open(mount.path("kept/unsaved.txt"), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
                #expect(fd >= 0)
                #expect(try await Posix.errno { Int32(Glibc.write(fd, "unsaved", 7)) } == 0)
                // A write is answered before it is staged: kill once it is.
                try await eventually(timeout: .seconds(10), "the write staged") {
                    try await Posix.shell("cat '\(mount.folder.path("cache"))'/dfs-mount-*/staged-*").standardOutput.hasPrefix("unsaved")
                }
                kill(mount.process.processIdentifier, SIGKILL)
                mount.process.waitUntilExit()
                close(fd)
                // An open asks the mount process (access(2) may not: with default_permissions
                // the kernel answers it from the attributes it holds).
                let stale = try await Posix.errno {
                    let folder = open(mount.mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    if folder >= 0 { close(folder) }
                    return folder
                }
                #expect(stale == ENOTCONN)
                try await mount.remount(meta)
                #expect(try await Posix.errno { access(mount.path("kept"), F_OK) } == 0)
                // The dead process's staged file, left for the user with the path it was for.
                let left = StagingArea.leftovers(in: mount.folder.path("cache"))
                #expect(left.map(\.clusterPath) == ["/kept/unsaved.txt"])
                #expect(left.map(\.bytes) == [7] && left.map(\.ready) == [false])
                let staged = try await Posix.shell("cat '\(mount.folder.path("cache"))'/dfs-mount-*/staged-*")
                #expect(staged.standardOutput.hasPrefix("unsaved"), "\(staged.standardError)")
            }
        }
    }

    /// A folder of more entries than a listing page holds lists whole, every name once,
    /// with `ls` (readdirplus) and `find` (readdir) alike.
    @Test func largeFolderListsEveryNameOnceAcrossPages() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let count = Limits.listEntriesMax * 2 + 7
        try FileSystem.makeFolders(local.path("many"))
        for index in 0..<count {
            try FileSystem.write([], to: local.path("many/\(index)"))
        }
        try await withCluster { cluster in
            _ = try await cluster.client.uploadTree(localFolder: local.path("many"), to: try DFSPath("/many"), options: UploadOptions())
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let listed = try await Posix.shell("ls -f '\(mount.path("many"))' | grep -v '^\\.' | sort -n")
                #expect(listed.standardOutput == (0..<count).map { "\($0)\n" }.joined())
                let found = try await Posix.shell("find '\(mount.path("many"))' -type f | wc -l")
                #expect(found.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "\(count)")
            }
        }
    }

    /// Overwriting part of a file, appending to it and truncating it change the cluster's
    /// file as they would a local one.
    @Test func overwriteAppendAndTruncateReachTheCluster() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let file = mount.path("edit.txt")
                try await write("0123456789", to: file)
                let edited = try await Posix.shell(
                    "printf 'ab' | dd of='\(file)' bs=1 seek=2 conv=notrunc status=none && printf 'XYZ' >> '\(file)' && cat '\(file)'")
                #expect(edited.standardOutput == "01ab456789XYZ", "\(edited.standardError)")
                #expect(try await Posix.errno { truncate(file, 4) } == 0)
                #expect(try await read(file) == "01ab")
                let bytes = Mutex<[UInt8]>([])
                try await cluster.client.stream(try DFSPath("/edit.txt")) { piece in bytes.withLock { $0 += piece } }
                #expect(String(decoding: bytes.withLock { $0 }, as: UTF8.self) == "01ab")
                #expect(try await Posix.errno { truncate(file, 0) } == 0)
                #expect(try await cluster.client.stat(try DFSPath("/edit.txt")).info.size == 0)
            }
        }
    }

    /// `dfs` as mount(8)'s helper for an /etc/fstab line, both as `mount.dfs SOURCE DIR -o
    /// OPTIONS` and as `dfs#SOURCE` of type fuse (through mount.fuse3): it returns once the
    /// mount is ready, with the options applied, and the process it left serving ends when
    /// the folder is unmounted.
    @Test func mountHelperReturnsOnceMountedAndServesUntilUnmounted() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let mountpoint = local.path("mnt")
        try FileSystem.makeFolders(mountpoint)
        try FileSystem.makeFolders(local.path("cache"))
        try await withCluster { cluster in
            try await cluster.client.makeDirectory(try DFSPath("/shared"))
            let helper = local.path("mount.dfs")
            #expect(symlink(DFSBinary.path, helper) == 0)
            defer { if TestMount.isMounted(mountpoint) { _ = umount2(mountpoint, Int32(MNT_DETACH)) } }
            let mounted = try await Subprocess.run(
                helper, ["127.0.0.1:\(cluster.metaEndpoint.port):/", mountpoint, "-o", "ro,_netdev,cache_dir=\(local.path("cache"))"],
                timeout: .seconds(60))
            #expect(mounted.status == 0, "\(mounted.standardError)")
            #expect(try await Posix.errno { access(mountpoint + "/shared", F_OK) } == 0)
            #expect(try await Posix.errno { mkdir(mountpoint + "/new", 0o755) } == EROFS)
            #expect(umount2(mountpoint, 0) == 0)
            // The serving process is the only one whose command line names this mountpoint.
            try await eventually(timeout: .seconds(20), "the mount process ended after the unmount") {
                Self.processes(naming: mountpoint).isEmpty
            }
            // The other fstab form: type fuse, `dfs#SOURCE`, through mount(8) and mount.fuse3.
            let viaFuse = try await Subprocess.run(
                "/bin/mount",
                [
                    "-t", "fuse", "\(DFSBinary.path)#127.0.0.1:\(cluster.metaEndpoint.port):/shared", mountpoint, "-o",
                    "rw,_netdev,cache_dir=\(local.path("cache"))",
                ], timeout: .seconds(60))
            #expect(viaFuse.status == 0, "\(viaFuse.standardError)")
            #expect(try await Posix.errno { mkdir(mountpoint + "/inside", 0o755) } == 0)
            #expect(try await cluster.client.stat(try DFSPath("/shared/inside")).info.type == .dir)
            #expect(umount2(mountpoint, 0) == 0)
            try await eventually(timeout: .seconds(20), "the mount process ended after the second unmount") {
                Self.processes(naming: mountpoint).isEmpty
            }
        }
        for pid in Self.processes(naming: mountpoint) { kill(pid, SIGKILL) }
    }

    /// Processes whose command line holds `text`.
    private static func processes(naming text: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = pid_t(name), pid != getpid(),
                let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(name)/cmdline"))
            else { return nil }
            return String(decoding: commandLine, as: UTF8.self).contains(text) ? pid : nil
        }
    }

    private func write(_ text: String, to path: String) async throws {
        let status = try await Posix.errno {
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_TRUNC, 0o644)
            guard fd >= 0 else { return -1 }
            let written = Glibc.write(fd, text, text.utf8.count)
            return close(fd) == 0 && written == text.utf8.count ? 0 : -1
        }
        #expect(status == 0, "writing \(path): \(String(cString: strerror(status)))")
    }

    private func read(_ path: String) async throws -> String {
        try await Subprocess.onOwnThread { try String(contentsOfFile: path, encoding: .utf8) }
    }
}
