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

/// Sequential writes through `dfs mount` (1 MiB blocks in the harness), answered before they
/// are staged and streamed block by block: every size around a block boundary, in writes
/// that do and do not line up with the blocks, reaches the cluster byte for byte with the
/// right blocks, and the writer sees its own writes at once.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountStreamingTests {
    static let blockBytes = 1_048_576

    /// File sizes around block boundaries, and the size of the writes that make them.
    static let sizesAndWrites: [(size: Int, writeBytes: Int)] = [
        (3 * blockBytes, blockBytes), (3 * blockBytes + 1, blockBytes), (3 * blockBytes - 1, blockBytes), (2 * blockBytes, 131_072),
        (2 * blockBytes + 12_345, 300_000), (blockBytes, 4096), (1, blockBytes),
    ]

    /// Each file is written by `dd` with `conv=fsync` (so the streamed upload ends at the
    /// fsync, the close uploading nothing more) in writes of `writeBytes`.
    @Test(arguments: Self.sizesAndWrites)
    func fileAroundABlockBoundaryReachesTheClusterWhole(size: Int, writeBytes: Int) async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let content = try local.writeRandomFile("source", count: size, seed: UInt64(size))
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let copy = try await Posix.shell(
                    "dd if='\(local.path("source"))' of='\(mount.path("file"))' bs=\(writeBytes) conv=fsync status=none")
                #expect(copy.status == 0, "\(copy.standardError)")
                let file = try await cluster.client.stat(try DFSPath("/file"))
                #expect(file.info.size == size)
                #expect(file.blocks.count == (size + Self.blockBytes - 1) / Self.blockBytes)
                #expect(try await MountWriteTests.clusterBytes(cluster, "/file") == content)
                let compare = try await Posix.shell("cmp '\(local.path("source"))' '\(mount.path("file"))'")
                #expect(compare.status == 0, "\(compare.standardOutput)")
            }
        }
    }

    /// Writes are answered before they are staged: a read, a stat and a truncate right after
    /// them, through the same descriptor, see every byte written.
    @Test func writerSeesItsWritesAtOnce() async throws {
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                // 40 writes of 100,000 bytes of the letter of their index, then at once the
                // size, the last 10 bytes, a truncate into the middle and the size again.
                let script = """
                    open(my $file, "+>", $ARGV[0]) or die;
                    for my $index (0..39) { syswrite($file, chr(65 + $index % 26) x 100000) == 100000 or die }
                    my $size = -s $file; sysseek($file, 3999990, 0) or die; sysread($file, my $tail, 100) == 10 or die;
                    truncate($file, 1500000) or die; my $cut = -s $file;
                    print "$size $tail $cut"; close($file) or die
                    """
                let run = try await Posix.shell("perl -e '\(script)' '\(mount.path("seen"))'")
                #expect(run.status == 0, "\(run.standardError)")
                #expect(run.standardOutput == "4000000 NNNNNNNNNN 1500000")
                let bytes = try await MountWriteTests.clusterBytes(cluster, "/seen")
                #expect(bytes.count == 1_500_000)
                #expect(bytes[1_499_999] == UInt8(ascii: "O"))
            }
        }
    }
}
