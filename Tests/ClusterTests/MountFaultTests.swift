import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a program sees through `dfs mount` when names change under open files, when
/// processes race for one name, and when the cluster has no room.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountFaultTests {
    /// Reads `count` bytes of `fd` at `offset` (fewer at its end).
    static func read(_ fd: Int32, at offset: Int, count: Int) async throws -> [UInt8] {
        try await Subprocess.onOwnThread {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                if got < 0 { throw DFSError(.ioError, "pread at \(offset + done): \(String(cString: strerror(errno)))") }
                if got == 0 { break }
                done += got
            }
            return Array(buffer.prefix(done))
        }
    }

    /// Waits until no data node holds any of `blocks` (the cluster deleted them).
    static func waitUntilDeleted(_ blocks: Set<BlockID>, in cluster: TestCluster) async throws {
        try await eventually(timeout: .seconds(30), "the replaced version's blocks deleted from every node") {
            cluster.dataServers.allSatisfy { server in server.map { Set($0.store.blockIDs).isDisjoint(with: blocks) } ?? true }
        }
    }

    /// A new version renamed over a file that a reader has open (as `rsync` and editors
    /// replace files): the reader goes on reading the version it opened, to its end, even
    /// once the cluster deleted that version's blocks; an open after the rename reads the
    /// new one.
    @Test func renameOverAFileOpenForReadingLeavesTheReaderTheOldBytes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        // Longer than the mount's read-ahead (32 MiB): the rest is read after the deletion.
        let old = try local.writeRandomFile("old", count: 48 * 1_048_576 + 4321, seed: 61)
        let new = try local.writeRandomFile("new", count: 2 * 1_048_576 + 17, seed: 62)
        try await withCluster { cluster in
            let path = try DFSPath("/data.bin")
            try await cluster.client.upload(localPath: local.path("old"), to: path, options: UploadOptions(blockBytes: 1 << 20))
            let oldBlocks = Set(try await cluster.client.stat(path).blocks.map(\.blockID))
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let fd = try await Subprocess.onOwnThread { open(mount.path("data.bin"), O_RDONLY | O_CLOEXEC) }
                #expect(fd >= 0)
                defer { if fd >= 0 { close(fd) } }
                #expect(try await Self.read(fd, at: 0, count: 65_536) == Array(old.prefix(65_536)))

                let copy = try await Posix.shell("cp '\(local.path("new"))' '\(mount.path("incoming"))'")
                #expect(copy.status == 0, "\(copy.standardError)")
                #expect(try await Posix.errno { rename(mount.path("incoming"), mount.path("data.bin")) } == 0)
                #expect(try await Subprocess.onOwnThread { try FileSystem.contents(of: mount.path("data.bin")) } == new)
                try await Self.waitUntilDeleted(oldBlocks, in: cluster)

                let rest = try await Self.read(fd, at: 65_536, count: old.count)
                #expect(rest.count == old.count - 65_536)
                // Compared whole first: a failed expectation on arrays this long describes them
                // byte by byte.
                let same = rest == Array(old[65_536...])
                #expect(same, "the reader of the replaced version got other bytes")
            }
        }
    }

    /// A file unlinked while a reader has it open: the name is gone at once, and the reader
    /// goes on reading the file's bytes to their end, with its attributes (the mount keeps
    /// none in the kernel here, so every stat and read past the size asks the mount).
    @Test func unlinkWhileOpenForReadingLeavesTheReaderItsBytes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("file", count: 48 * 1_048_576 + 999, seed: 63)
        try await withCluster { cluster in
            let path = try DFSPath("/doomed.bin")
            try await cluster.client.upload(localPath: local.path("file"), to: path, options: UploadOptions(blockBytes: 1 << 20))
            let blocks = Set(try await cluster.client.stat(path).blocks.map(\.blockID))
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)", arguments: ["--attr-timeout", "0s"]) { mount in
                let fd = try await Subprocess.onOwnThread { open(mount.path("doomed.bin"), O_RDONLY | O_CLOEXEC) }
                #expect(fd >= 0)
                defer { if fd >= 0 { close(fd) } }
                #expect(try await Self.read(fd, at: 0, count: 4096) == Array(bytes.prefix(4096)))
                #expect(try await Posix.errno { unlink(mount.path("doomed.bin")) } == 0)
                #expect(try await Posix.errno { access(mount.path("doomed.bin"), F_OK) } == ENOENT)
                try await Self.waitUntilDeleted(blocks, in: cluster)
                let rest = try await Self.read(fd, at: 4096, count: bytes.count)
                // fstat of the open file: its size, though its name is gone (the kernel keeps
                // no attributes here: it asks the mount each time).
                let size = try await Subprocess.onOwnThread { () -> Int in
                    var status = stat()
                    return fstat(fd, &status) == 0 ? Int(status.st_size) : -Int(errno)
                }
                #expect(size == bytes.count, "fstat of the unlinked file (negative: an errno)")
                let same = rest == Array(bytes[4096...])
                #expect(same, "the reader of the unlinked file got other bytes")
            }
        }
    }

    /// Eight processes create one name with O_CREAT | O_EXCL at the same moment: one
    /// succeeds, the seven others get EEXIST, and the file holds the winner's bytes.
    @Test func exclusiveCreatesRacingForOneNameHaveOneWinner() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        // Each says it is ready, waits for the go file, then races; the winner writes its
        // own id a thousand times.
        let script = """
            use Fcntl; my ($path, $id, $ready, $go) = @ARGV;
            open(my $r, ">", $ready) or die "ready: $!"; close($r);
            until (-e $go) { select(undef, undef, undef, 0.001) }
            if (sysopen(my $out, $path, O_CREAT | O_EXCL | O_WRONLY, 0644)) {
                my $text = "winner $id\\n" x 1000;
                syswrite($out, $text) == length($text) or die "write: $!";
                close($out) or die "close: $!";
                print "won"; exit 0;
            }
            print $!{EEXIST} ? "EEXIST" : "failed: $!";
            """
        let racers = 8
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let outcomes = try await withThrowingTaskGroup(of: (Int, DFSBinary.Result).self) { group in
                    for id in 0..<racers {
                        group.addTask {
                            let arguments = ["-e", script, mount.path("claimed"), "\(id)", local.path("ready-\(id)"), local.path("go")]
                            return (id, try await Subprocess.run("/usr/bin/perl", arguments, timeout: .seconds(60)))
                        }
                    }
                    do {
                        try await eventually(timeout: .seconds(30), "every racer ready") {
                            (0..<racers).allSatisfy { FileManager.default.fileExists(atPath: local.path("ready-\($0)")) }
                        }
                    } catch {
                        try? FileSystem.write([], to: local.path("go"))
                        throw error
                    }
                    try FileSystem.write([], to: local.path("go"))
                    var outcomes: [Int: String] = [:]
                    for try await (id, result) in group {
                        #expect(result.status == 0, "racer \(id): \(result.standardError)")
                        outcomes[id] = result.standardOutput
                    }
                    return outcomes
                }
                let winners = outcomes.filter { $0.value == "won" }.map(\.key)
                #expect(winners.count == 1, "\(outcomes)")
                #expect(outcomes.values.filter { $0 == "EEXIST" }.count == racers - 1, "\(outcomes)")
                let winner = try #require(winners.first)
                let expected = Array(String(repeating: "winner \(winner)\n", count: 1000).utf8)
                #expect(try await MountWriteTests.clusterBytes(cluster, "/claimed") == expected)
                #expect(try await Subprocess.onOwnThread { try FileSystem.contents(of: mount.path("claimed")) } == expected)
            }
        }
    }

    /// Writes `count` bytes to a new file at `path` and closes it; 0, or the errno of the
    /// first call that failed (the close is made in every case).
    static func writeNewFile(_ path: String, count: Int) async throws -> Int32 {
        try await Posix.errno {
            let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return -1 }
            let chunk = [UInt8](repeating: 0x5A, count: 256 * 1024)
            var written = 0
            var failure: Int32 = 0
            while written < count, failure == 0 {
                let result = Glibc.write(fd, chunk, min(chunk.count, count - written))
                if result < 0 { failure = Glibc.errno } else { written += result }
            }
            if close(fd) != 0, failure == 0 { failure = Glibc.errno }
            Glibc.errno = failure
            return failure == 0 ? 0 : -1
        }
    }

    /// A cluster whose every node is full: a file written through the mount, large (its
    /// blocks streamed while open) or small (uploaded at its close), fails with ENOSPC, as
    /// on a full local disk; the cluster never shows it, the mount stops showing it once
    /// closed, and the mount goes on serving what needs no room.
    @Test func writeToAFullClusterIsENOSPCAndLeavesNothingBehind() async throws {
        try await withCluster(dataNodes: 2, configureData: { $0.reserveBytes = Int.max / 2 }) { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                for (name, count) in [("large.bin", 3 * 1_048_576 + 5), ("small.txt", 1000)] {
                    let failure = try await Self.writeNewFile(mount.path(name), count: count)
                    #expect(failure == ENOSPC, "\(name): \(String(cString: strerror(failure)))")
                    await #expect(throws: DFSError.self) { try await cluster.client.stat(try DFSPath("/" + name)) }
                    try await eventually(timeout: .seconds(30), "\(name) gone from the mount once closed") {
                        try await Posix.errno { access(mount.path(name), F_OK) } == ENOENT
                    }
                }
                #expect(try await cluster.client.list(.root).entries.isEmpty)
                #expect(try await cluster.meta.service.pendingFileCount() == 0, "nothing half-written stays recorded")
                // Still serving: a folder and an empty file take no block.
                #expect(try await Posix.errno { mkdir(mount.path("folder"), 0o755) } == 0)
                #expect(try await Self.writeNewFile(mount.path("folder/empty"), count: 0) == 0)
                #expect(try await cluster.client.stat(try DFSPath("/folder/empty")).info.size == 0)
                let listed = try await Posix.shell("ls -A '\(mount.mountpoint)' '\(mount.path("folder"))'")
                #expect(listed.standardOutput.contains("folder") && listed.standardOutput.contains("empty"), "\(listed.standardOutput)")
                #expect(!listed.standardOutput.contains("large.bin") && !listed.standardOutput.contains("small.txt"))
            }
        }
    }
}
