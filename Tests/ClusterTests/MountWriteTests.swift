import DFSClient
import DFSCore
import DFSProcess
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// How files written through `dfs mount` reach the cluster: small files in batches, and
/// with `--writeback` after their close, surviving a killed mount process.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountWriteTests {
    /// The meta server's count of `createFile` and `createFiles` requests so far.
    static func creations(_ cluster: TestCluster) async throws -> (single: Int, batched: Int) {
        let samples = try await MonitoringTests.scrape(try MonitoringTests.metaHTTP(cluster)).samples
        return (
            Int(samples["dfs_requests_total{type=\"createFile\"}"] ?? 0), Int(samples["dfs_requests_total{type=\"createFiles\"}"] ?? 0)
        )
    }

    /// The bytes the cluster holds at `path`.
    static func clusterBytes(_ cluster: TestCluster, _ path: String) async throws -> [UInt8] {
        let bytes = Mutex<[UInt8]>([])
        try await cluster.client.stream(try DFSPath(path)) { piece in bytes.withLock { $0 += piece } }
        return bytes.withLock { $0 }
    }

    /// 200 small files closed at once by 200 processes reach the cluster in batches (fewer
    /// creations than files), each close returning once its file is in the cluster.
    @Test func smallFilesClosedAtOnceGoInBatches() async throws {
        try await withCluster(configure: { $0.http = MonitoringTests.anyLoopbackPort }) { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let before = try await Self.creations(cluster)
                let made = try await Posix.shell(
                    "cd '\(mount.mountpoint)' && for i in $(seq 1 200); do printf 'file %d' $i > f$i & done; wait", timeout: .seconds(120))
                #expect(made.status == 0, "\(made.standardError)")
                // Every close has returned: every file is in the cluster already.
                for index in 1...200 {
                    #expect(String(decoding: try await Self.clusterBytes(cluster, "/f\(index)"), as: UTF8.self) == "file \(index)")
                }
                let after = try await Self.creations(cluster)
                let requests = (after.single - before.single) + (after.batched - before.batched)
                // How many closes share a batch depends on how the 200 processes are
                // scheduled; that some do, and that fewer requests than files went, does not.
                #expect(after.batched > before.batched)
                #expect(requests < 200, "\(requests) creation requests for 200 files")
            }
        }
    }

    /// With --writeback, `cp -r` returns with every file shown by the mount; the uploads
    /// follow, in batches, and the cluster ends with every byte.
    @Test func writebackShowsFilesAtOnceAndUploadsThemInBatches() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try FileSystem.makeFolders(local.path("tree"))
        for index in 0..<300 { try FileSystem.write(Array("small \(index)".utf8), to: local.path("tree/f\(index)")) }
        try await withCluster(configure: { $0.http = MonitoringTests.anyLoopbackPort }) { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)", arguments: ["--writeback"]) { mount in
                let before = try await Self.creations(cluster)
                let copy = try await Posix.shell("cp -r '\(local.path("tree"))' '\(mount.path("tree"))'")
                #expect(copy.status == 0, "\(copy.standardError)")
                let diff = try await Posix.shell("diff -r '\(local.path("tree"))' '\(mount.path("tree"))'")
                #expect(diff.status == 0, "\(diff.standardOutput)\(diff.standardError)")
                try await eventually(timeout: .seconds(60), "every file uploaded") {
                    try await cluster.client.list(try DFSPath("/tree")).entries.count == 300
                }
                for index in stride(from: 0, to: 300, by: 29) {
                    #expect(String(decoding: try await Self.clusterBytes(cluster, "/tree/f\(index)"), as: UTF8.self) == "small \(index)")
                }
                let after = try await Self.creations(cluster)
                #expect(after.batched > before.batched)
                #expect((after.single - before.single) + (after.batched - before.batched) < 300)
                // fsync waits for the cluster: a file written and synced is there at once.
                let synced = try await Posix.shell("printf synced > '\(mount.path("synced"))' && sync '\(mount.path("synced"))'")
                #expect(synced.status == 0, "\(synced.standardError)")
                #expect(String(decoding: try await Self.clusterBytes(cluster, "/synced"), as: UTF8.self) == "synced")
            }
        }
    }

    /// A mount process killed right after write-back closes returned: the next mount
    /// uploads what it had staged (whatever it had uploaded before dying is there too), and
    /// a staged file a dead mount marked as closed is uploaded, its folder removed.
    @Test func remountUploadsWhatAKilledWritebackMountStaged() async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta, arguments: ["--writeback"]) { mount in
                let made = try await Posix.shell("cd '\(mount.mountpoint)' && for i in $(seq 1 50); do printf 'kept %d' $i > k$i; done")
                #expect(made.status == 0, "\(made.standardError)")
                kill(mount.process.processIdentifier, SIGKILL)
                mount.process.waitUntilExit()

                // And one left by hand, as a dead mount whose upload never started leaves it.
                let dead = try SpawnedProcess("/bin/true", [])
                dead.waitUntilExit()
                let folder = mount.folder.path("cache/dfs-mount-\(dead.processIdentifier)-1")
                try FileSystem.makeFolders(folder)
                let left = Array("left behind".utf8)
                try FileSystem.write(left, to: folder + "/staged-1")
                try FileSystem.write(Array("/left.txt".utf8), to: folder + "/staged-1.path")
                try FileSystem.write(Array("dfs-staged 1 \(left.count) \(CRC32C.checksum(left))\n/left.txt".utf8), to: folder + "/staged-1.ready")

                try await mount.remount(meta)
                for index in 1...50 {
                    #expect(String(decoding: try await Self.clusterBytes(cluster, "/k\(index)"), as: UTF8.self) == "kept \(index)")
                }
                #expect(String(decoding: try await Self.clusterBytes(cluster, "/left.txt"), as: UTF8.self) == "left behind")
                #expect(!FileManager.default.fileExists(atPath: folder))
            }
        }
    }

    /// A write-back close does not sync: should the machine go down before the upload, the
    /// staged bytes may not match what was closed. Such a file is named at the next mount
    /// and left where it is, never uploaded as if it were what the program wrote.
    @Test func remountLeavesAStagedFileWhoseBytesDoNotMatchItsNote() async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta, arguments: ["--writeback"]) { mount in
                let dead = try SpawnedProcess("/bin/true", [])
                dead.waitUntilExit()
                let folder = mount.folder.path("cache/dfs-mount-\(dead.processIdentifier)-1")
                try FileSystem.makeFolders(folder)
                let closed = Array("what was closed".utf8)
                // What the disk kept after the crash: as long, other bytes.
                try FileSystem.write(Array(repeating: 0, count: closed.count), to: folder + "/staged-1")
                try FileSystem.write(Array("dfs-staged 1 \(closed.count) \(CRC32C.checksum(closed))\n/lost.txt".utf8), to: folder + "/staged-1.ready")

                try await mount.remount(meta)
                await #expect(throws: DFSError.self) { try await cluster.client.stat(try DFSPath("/lost.txt")) }
                #expect(FileManager.default.fileExists(atPath: folder + "/staged-1"))
                #expect(FileManager.default.fileExists(atPath: folder + "/staged-1.ready"))
            }
        }
    }

    /// The meta server's count of `allocateBlock` requests so far: one per streamed block.
    static func allocations(_ cluster: TestCluster) async throws -> Int {
        let samples = try await MonitoringTests.scrape(try MonitoringTests.metaHTTP(cluster)).samples
        return Int(samples["dfs_requests_total{type=\"allocateBlock\"}"] ?? 0)
    }

    /// Writes `bytes` at `offset` of `fd` (pwrite), all of them.
    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int) async throws {
        let written = try await Subprocess.onOwnThread { bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) } }
        #expect(written == bytes.count)
    }

    /// A file written sequentially goes to the cluster block by block while it is still
    /// open (its blocks are allocated before the close), is invisible until the close, and
    /// reads back byte for byte.
    ///
    /// The writer is a process of its own (perl: one process, no child), not this one: a
    /// process this one spawns (other tests run beside) would get a copy of a descriptor
    /// opened here, and its exec closes that copy, which FUSE reports as a flush, an upload
    /// at a moment the test does not choose.
    ///
    /// With `closingADuplicateFirst`, the writer first duplicates its descriptor and closes
    /// the original before writing, as `dd` does: that close is a flush of the empty file,
    /// after which the writes still stream.
    @Test(arguments: [false, true])
    func sequentialWriteStreamsBlocksBeforeTheClose(closingADuplicateFirst: Bool) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let content = try local.writeRandomFile("source", count: 6 * 1_048_576 + 1000, seed: 41)
        #expect(mkfifo(local.path("go"), 0o600) == 0)
        try await withCluster(configure: { $0.http = MonitoringTests.anyLoopbackPort }) { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let before = try await Self.allocations(cluster)
                let duplicate = closingADuplicateFirst ? "open(my $copy, \">&\", $out) or die; close($out) or die; $out = $copy;" : ""
                let script = """
                    open(my $out, ">", $ARGV[0]) or die; \(duplicate) open(my $in, "<", $ARGV[1]) or die;
                    while (sysread($in, my $bytes, 1048576)) { syswrite($out, $bytes) == length($bytes) or die }
                    open(my $written, ">", $ARGV[2]) or die; close($written);
                    open(my $go, "<", $ARGV[3]) or die; my $line = <$go>; close($out) or die
                    """
                async let writer = Subprocess.run(
                    "/usr/bin/perl", ["-e", script, mount.path("big"), local.path("source"), local.path("written"), local.path("go")],
                    timeout: .seconds(60))
                do {
                    try await eventually(timeout: .seconds(30), "the writer wrote everything") {
                        FileManager.default.fileExists(atPath: local.path("written"))
                    }
                    // Six full blocks of 1 MiB went out while the file is open; the last 1000
                    // bytes wait for the close.
                    try await eventually(timeout: .seconds(30), "six blocks allocated before the close") {
                        try await Self.allocations(cluster) - before >= 6
                    }
                    if closingADuplicateFirst {
                        // The first close made an empty version; the streamed one replaces it at the last.
                        #expect(try await cluster.client.stat(try DFSPath("/big")).info.size == 0)
                    } else {
                        await #expect(throws: DFSError.self) { try await cluster.client.stat(try DFSPath("/big")) }
                    }
                } catch {
                    _ = try? await Posix.shell("echo go > '\(local.path("go"))'")
                    _ = try? await writer
                    throw error
                }
                _ = try await Posix.shell("echo go > '\(local.path("go"))'")
                #expect(try await writer.status == 0)
                #expect(try await cluster.client.stat(try DFSPath("/big")).blocks.count == 7)
                #expect(try await Self.clusterBytes(cluster, "/big") == content)
                #expect(try await Self.allocations(cluster) - before == 7)
            }
        }
    }

    /// A write elsewhere than the end stops the streaming: the file is uploaded whole at its
    /// close, with every write in place.
    @Test func writeOutOfSequenceFallsBackToTheStagedFile() async throws {
        var shadow = SplitMix64.bytes(count: 2 * 1_048_576 + 500_000, seed: 42)
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let fd = try await Subprocess.onOwnThread { open(mount.path("mixed"), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0o644) }
                #expect(fd >= 0)
                try await Self.write(fd, Array(shadow[0..<1_500_000]), at: 0)
                try await Self.write(fd, Array(shadow[1_500_000...]), at: 1_500_000)
                // Back into the first block, already sent.
                let patch = [UInt8](repeating: 7, count: 5000)
                shadow.replaceSubrange(100..<5100, with: patch)
                try await Self.write(fd, patch, at: 100)
                #expect(try await Posix.errno { close(fd) } == 0)
                #expect(try await Self.clusterBytes(cluster, "/mixed") == shadow)
            }
        }
    }
}
