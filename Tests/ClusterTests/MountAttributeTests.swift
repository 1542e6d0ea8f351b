import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Mode bits, owners, times and symbolic links through `dfs mount`: what programs set
/// through the mount is what the cluster stores, what the cluster stores is what `stat`
/// shows, and the kernel enforces the modes (default_permissions).
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountAttributeTests {
    /// `ln -s` through the mount makes a link the client and `dfs ls -l` see as one; a link
    /// the client makes is a link in the mount; a taken name is EEXIST.
    @Test func linksMadeOnEitherSideShowAsLinksOnTheOther() async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let made = try await Posix.shell("cd '\(mount.mountpoint)' && echo hello > target.txt && ln -s target.txt link")
                #expect(made.status == 0, "\(made.standardError)")
                #expect(try await Self.linkTarget(mount.path("link")) == "target.txt")
                let status = try await Self.linkStatus(mount.path("link"))
                #expect(status.st_mode & S_IFMT == S_IFLNK)
                #expect(status.st_size == off_t("target.txt".utf8.count))
                #expect(try await Subprocess.onOwnThread { try String(contentsOfFile: mount.path("link"), encoding: .utf8) } == "hello\n")

                let stored = try await cluster.client.stat(try DFSPath("/link")).info
                #expect(stored.type == .link)
                #expect(stored.target == "target.txt")
                let listing = try await DFSBinary.run(["ls", "-l", "\(meta):/"])
                #expect(listing.standardOutput.contains("link -> target.txt"), "\(listing.standardOutput)")

                try await cluster.client.makeLink(try DFSPath("/elsewhere"), target: "../some/where")
                // A name another client made shows within the entry timeout (the mount may
                // answer from a listing of the folder taken less than that ago).
                try await eventually(timeout: .seconds(5), "the link made by another client shows") {
                    (try? await Self.linkTarget(mount.path("elsewhere"))) != nil
                }
                #expect(try await Self.linkTarget(mount.path("elsewhere")) == "../some/where")
                #expect(try await Self.linkStatus(mount.path("elsewhere")).st_mode & S_IFMT == S_IFLNK)
                let plain = try await Posix.shell("ls -l '\(mount.mountpoint)'")
                #expect(plain.standardOutput.contains("elsewhere -> ../some/where"), "\(plain.standardOutput)")

                #expect(try await Posix.errno { symlink("x", mount.path("target.txt")) } == EEXIST)
                #expect(try await Posix.errno { symlink("x", mount.path("link")) } == EEXIST)
                #expect(try await Posix.errno { unlink(mount.path("link")) } == 0)
                await #expect(throws: DFSError.self) { try await cluster.client.stat(try DFSPath("/link")) }
            }
        }
    }

    /// chmod, chown and `touch -d` through the mount reach the cluster, on files, folders and
    /// on a file open for writing (kept until its upload, which would otherwise replace the
    /// time); `stat` in the mount shows them at once.
    @Test func chmodChownAndTouchReachTheCluster() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let file = mount.path("file.txt")
                let changed = try await Posix.shell(
                    """
                    cd '\(mount.mountpoint)' && echo data > file.txt && mkdir folder \
                    && chmod 0640 file.txt && chown 1234:5678 file.txt && touch -m -d '2020-01-02 03:04:05 UTC' file.txt \
                    && chmod 0700 folder && chown 42:43 folder
                    """)
                #expect(changed.status == 0, "\(changed.standardError)")
                let stored = try await cluster.client.stat(try DFSPath("/file.txt")).info
                #expect(stored.mode == 0o640)
                #expect(stored.uid == 1234)
                #expect(stored.gid == 5678)
                #expect(stored.mtime == 1_577_934_245)
                let shown = try await Self.linkStatus(file)
                #expect(shown.st_mode == S_IFREG | 0o640)
                #expect(shown.st_uid == 1234 && shown.st_gid == 5678)
                #expect(shown.st_mtim.tv_sec == 1_577_934_245)
                let folder = try await cluster.client.stat(try DFSPath("/folder")).info
                #expect(folder.mode == 0o700 && folder.uid == 42 && folder.gid == 43)
                // The cluster's root folder keeps fixed attributes; a change is accepted and
                // dropped, so copies onto the mount's top do not fail.
                #expect(try await Posix.errno { chmod(mount.mountpoint, 0o700) } == 0)
                #expect(try await Self.linkStatus(mount.mountpoint).st_mode == S_IFDIR | 0o755)

                // A new version written through the mount keeps the mode and owner; while it is
                // open with staged bytes, stat shows the stored ones over the staged size.
                let appended = try await Posix.errno {
                    let fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC)
                    guard fd >= 0 else { return -1 }
                    defer { close(fd) }
                    var during = Glibc.stat()
                    guard Glibc.write(fd, "more\n", 5) == 5, fstat(fd, &during) == 0 else { return -1 }
                    // EDOM stands for "stat showed something else" (errno is 0 after a success).
                    guard during.st_mode == S_IFREG | 0o640, during.st_uid == 1234, during.st_size == 10 else {
                        Glibc.errno = EDOM
                        return -1
                    }
                    return 0
                }
                #expect(appended == 0, "\(String(cString: strerror(appended)))")
                let rewritten = try await cluster.client.stat(try DFSPath("/file.txt")).info
                #expect(rewritten.size == 10)
                #expect(rewritten.mode == 0o640 && rewritten.uid == 1234 && rewritten.gid == 5678)

                // Set while open with unsent writes: stored after the upload at close.
                let path = mount.path("open.txt")
                let status = try await Posix.errno {
                    let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_TRUNC, 0o644)
                    guard fd >= 0 else { return -1 }
                    defer { close(fd) }
                    guard Glibc.write(fd, "abc", 3) == 3, fchmod(fd, 0o604) == 0, fchown(fd, 7, 8) == 0 else { return -1 }
                    var during = Glibc.stat()
                    guard fstat(fd, &during) == 0 else { return -1 }
                    guard during.st_mode == S_IFREG | 0o604, during.st_uid == 7 else {
                        Glibc.errno = EDOM
                        return -1
                    }
                    guard Glibc.write(fd, "def", 3) == 3 else { return -1 }
                    var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 0), timespec(tv_sec: 1_500_000_000, tv_nsec: 0)]
                    return futimens(fd, &times)
                }
                #expect(status == 0, "\(String(cString: strerror(status)))")
                let written = try await cluster.client.stat(try DFSPath("/open.txt")).info
                #expect(written.size == 6)
                #expect(written.mode == 0o604 && written.uid == 7 && written.gid == 8)
                #expect(written.mtime == 1_500_000_000)
            }
        }
    }

    /// A write after `touch -d` on a file open for writing sets the time again, as on a local
    /// file system: `stat` shows the write's time, and so does the cluster after the close;
    /// the mode set meanwhile stays.
    @Test func writeAfterSettingTheTimeOfAnOpenFileShowsTheWritesTime() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let path = mount.path("touched.txt")
                let before = Int(Date().timeIntervalSince1970) - 1
                let shown = try await Subprocess.onOwnThread { () -> (Int32, Int, Int) in
                    let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_TRUNC, 0o644)
                    guard fd >= 0 else { return (errno, 0, 0) }
                    defer { close(fd) }
                    var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 0), timespec(tv_sec: 1_500_000_000, tv_nsec: 0)]
                    var touched = Glibc.stat()
                    guard Glibc.write(fd, "abc", 3) == 3, fchmod(fd, 0o600) == 0, futimens(fd, &times) == 0, fstat(fd, &touched) == 0,
                        Glibc.write(fd, "def", 3) == 3
                    else { return (errno, 0, 0) }
                    var written = Glibc.stat()
                    guard fstat(fd, &written) == 0 else { return (errno, 0, 0) }
                    return (0, touched.st_mtim.tv_sec, written.st_mtim.tv_sec)
                }
                #expect(shown.0 == 0, "\(String(cString: strerror(shown.0)))")
                #expect(shown.1 == 1_500_000_000, "the time set shows until the next write")
                #expect(shown.2 >= before, "stat after the write shows \(shown.2), not the write's time")
                let stored = try await cluster.client.stat(try DFSPath("/touched.txt")).info
                #expect(stored.size == 6 && stored.mode == 0o600)
                #expect(Int(stored.mtime) >= before, "the cluster stored \(stored.mtime), not the write's time")
            }
        }
    }

    /// New files and folders keep the mode the creating program asked for, less its umask,
    /// and the creating process's owner and group.
    @Test func newFilesAndFoldersStoreTheirModeAndOwner() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let made = try await Posix.shell(
                    """
                    cd '\(mount.mountpoint)' && umask 022 && echo a > plain && mkdir folder \
                    && install -m 600 plain private && (umask 077 && mkdir closed && echo b > closed/secret)
                    """)
                #expect(made.status == 0, "\(made.standardError)")
                let expected = ["/plain": 0o644, "/folder": 0o755, "/private": 0o600, "/closed": 0o700, "/closed/secret": 0o600]
                for (path, mode) in expected {
                    let info = try await cluster.client.stat(try DFSPath(path)).info
                    #expect(info.mode == mode, "\(path): \(String(info.mode ?? -1, radix: 8))")
                    #expect(info.uid == Int(getuid()) && info.gid == Int(getgid()), "\(path)")
                }
            }
        }
    }

    /// With default_permissions the kernel checks the stored modes: a file chmod 000 cannot
    /// be read by another user while root still can, and a file that user makes is theirs.
    @Test func modesAreEnforcedForOtherUsers() async throws {
        guard let nobody = getpwnam("nobody")?.pointee, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else {
            print("skipping modesAreEnforcedForOtherUsers: no user 'nobody' or no runuser here")
            return
        }
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)", arguments: ["-o", "allow_other"]) { mount in
                // The other user must reach the mountpoint: the test's folder is private.
                #expect(chmod(mount.folder.url.path, 0o755) == 0)
                let made = try await Posix.shell(
                    "cd '\(mount.mountpoint)' && echo secret > locked && chmod 000 locked && echo open > readable && mkdir shared && chmod 1777 shared"
                )
                #expect(made.status == 0, "\(made.standardError)")
                let refused = try await Posix.shell("runuser -u nobody -- cat '\(mount.path("locked"))'")
                #expect(refused.status != 0)
                #expect(refused.standardError.contains("Permission denied"), "\(refused.standardError)")
                let root = try await Posix.shell("cat '\(mount.path("locked"))'")
                #expect(root.status == 0 && root.standardOutput == "secret\n", "\(root.standardError)")
                let allowed = try await Posix.shell("runuser -u nobody -- cat '\(mount.path("readable"))'")
                #expect(allowed.status == 0 && allowed.standardOutput == "open\n", "\(allowed.standardError)")
                let written = try await Posix.shell("runuser -u nobody -- sh -c 'echo mine > \(mount.path("shared/mine"))'")
                #expect(written.status == 0, "\(written.standardError)")
                let info = try await cluster.client.stat(try DFSPath("/shared/mine")).info
                #expect(info.uid == Int(nobody.pw_uid) && info.gid == Int(nobody.pw_gid))
                let denied = try await Posix.shell("runuser -u nobody -- sh -c 'echo no > \(mount.path("intruder"))'")
                #expect(denied.status != 0)
            }
        }
    }

    /// `cp -a`, and `tar -xp`, of a tree holding links (to a file, to a folder, dangling,
    /// absolute) and modes, owners and times: `diff -r` comparing links as links is clean,
    /// and every entry's type, mode, owner, time and link target match.
    @Test func copiedAndUntarredTreeWithLinksKeepsLinksModesOwnersAndTimes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let tree = local.path("tree")
        let prepared = try await Posix.shell(
            """
            mkdir -p '\(tree)/sub/deeper' && cd '\(tree)' && echo one > sub/one && echo two > sub/deeper/two \
            && head -c 300000 /dev/urandom > big && chmod 600 big && chmod 750 sub/deeper && chown 321:654 sub/one \
            && touch -m -d '2019-05-06 07:08:09' sub/one && ln -s sub/one to-file && ln -s sub to-folder \
            && ln -s nowhere dangling && ln -s /etc/hostname absolute && ln -s ../big sub/up
            """)
        #expect(prepared.status == 0, "\(prepared.standardError)")
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let copy = try await Posix.shell("cp -a '\(tree)' '\(mount.path("tree"))'")
                #expect(copy.status == 0, "\(copy.standardError)")
                let diff = try await Posix.shell("diff -r --no-dereference '\(tree)' '\(mount.path("tree"))'")
                #expect(diff.status == 0, "\(diff.standardOutput)\(diff.standardError)")
                let describe = "find . -printf '%P %y %m %U %G %Ts %l\\n' | sort"
                let before = try await Posix.shell("cd '\(tree)' && \(describe)")
                let after = try await Posix.shell("cd '\(mount.path("tree"))' && \(describe)")
                #expect(after.status == 0, "\(after.standardError)")
                #expect(after.standardOutput == before.standardOutput, "\(before.standardOutput)\(after.standardOutput)")

                // tar extracts links to '..' and absolute ones last, over placeholder files.
                let untar = try await Posix.shell(
                    "mkdir '\(mount.path("untarred"))' && tar -C '\(tree)' -cf - . | tar -C '\(mount.path("untarred"))' -xpf -")
                #expect(untar.status == 0, "\(untar.standardError)")
                let untarDiff = try await Posix.shell("diff -r --no-dereference '\(tree)' '\(mount.path("untarred"))'")
                #expect(untarDiff.status == 0, "\(untarDiff.standardOutput)\(untarDiff.standardError)")
                let untarred = try await Posix.shell("cd '\(mount.path("untarred"))' && \(describe)")
                #expect(untarred.standardOutput == before.standardOutput, "\(before.standardOutput)\(untarred.standardOutput)")
            }
            let link = try await cluster.client.stat(try DFSPath("/tree/to-folder")).info
            #expect(link.type == .link && link.target == "sub")
        }
    }

    private static func linkTarget(_ path: String) async throws -> String? {
        try await Subprocess.onOwnThread {
            var buffer = [CChar](repeating: 0, count: 4097)
            let count = readlink(path, &buffer, 4096)
            guard count >= 0 else { return nil }
            return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// A `stat` of every file of a folder makes the mount list it, and its listing answers
    /// later lookups; what this mount changes (mode, bytes, removals, renames) shows at once
    /// all the same, with windows long enough that a stale answer would show. The kernel's
    /// own entries are dropped (`drop_caches`) so that each round reaches the mount.
    @Test func listedAttributesNeverHideThisMountsOwnChanges() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try FileSystem.write(Array("four".utf8), to: local.path("small"))
        try await withCluster { cluster in
            for index in 0..<24 { _ = try await cluster.client.upload(localPath: local.path("small"), to: try DFSPath("/d/f\(index)")) }
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta, arguments: ["--attr-timeout", "30s", "--entry-timeout", "30s"]) { mount in
                func size(_ name: String) async throws -> Int { Int(try await Self.linkStatus(mount.path("d/\(name)")).st_size) }
                for round in 0..<2 {
                    for index in 0..<24 { #expect(try await size("f\(index)") == 4, "round \(round)") }
                    try Self.dropKernelEntries()
                }
                #expect(try await Posix.errno { chmod(mount.path("d/f1"), 0o600) } == 0)
                let rewritten = try await Posix.shell("printf 0123456789 > '\(mount.path("d/f2"))'")
                #expect(rewritten.status == 0, "\(rewritten.standardError)")
                #expect(try await Posix.errno { unlink(mount.path("d/f3")) } == 0)
                #expect(try await Posix.errno { rename(mount.path("d/f4"), mount.path("d/moved")) } == 0)
                #expect(try await Posix.errno { rename(mount.path("d/f5"), mount.path("d/f6")) } == 0)
                try Self.dropKernelEntries()
                #expect(try await Self.linkStatus(mount.path("d/f1")).st_mode & 0o777 == 0o600)
                #expect(try await size("f2") == 10)
                #expect(try await Posix.errno { access(mount.path("d/f3"), F_OK) } == ENOENT)
                #expect(try await Posix.errno { access(mount.path("d/f4"), F_OK) } == ENOENT)
                #expect(try await Posix.errno { access(mount.path("d/f5"), F_OK) } == ENOENT)
                #expect(try await size("moved") == 4)
                #expect(try await size("f6") == 4)
                #expect(try await size("f7") == 4)
            }
        }
    }

    /// Drops the kernel's cached names and inodes (as root), so that the next lookups reach
    /// the mount.
    private static func dropKernelEntries() throws {
        try FileSystem.write(Array("2\n".utf8), to: "/proc/sys/vm/drop_caches")
    }

    private static func linkStatus(_ path: String) async throws -> Glibc.stat {
        try await Subprocess.onOwnThread {
            var status = Glibc.stat()
            guard lstat(path, &status) == 0 else { throw DFSError(.notFound, "lstat \(path): \(String(cString: strerror(errno)))") }
            return status
        }
    }
}
