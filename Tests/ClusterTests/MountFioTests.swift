import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// fio's verifying jobs on `dfs mount`: every block fio writes carries a header and a
/// CRC32C of its bytes, and its reads check them, while the file is open, after its upload,
/// and after a remount.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountFioTests {
    static let fio = "/usr/bin/fio"

    /// Runs one fio job on `file` of `mount`; records an issue unless fio ended with status
    /// 0, with no error and no failed verification (fio stops at the first, with
    /// --verify_fatal).
    static func run(_ mount: TestMount, _ file: String, _ job: [String]) async throws {
        let arguments =
            ["--name=\(file)", "--directory=\(mount.mountpoint)", "--filename=\(file)", "--verify=crc32c", "--verify_fatal=1", "--verify_state_save=0"] + job
        let result = try await Subprocess.run(fio, arguments, timeout: .seconds(240))
        let output = result.standardOutput + result.standardError
        #expect(result.status == 0, "fio \(job.joined(separator: " ")): \(output)")
        #expect(!output.contains("verify failed"), "\(output)")
        #expect(output.contains("err= 0"), "\(output)")
    }

    /// True when fio is here; otherwise says why the test does nothing.
    static func fioIsInstalled() -> Bool {
        if FileManager.default.isExecutableFile(atPath: fio) { return true }
        Issue.record("fio is missing: make deps installs it")
        return false
    }

    /// A sequential write that fio verifies right after (reads through the open file), the
    /// same file read back and verified whole after its upload, and read at random offsets
    /// after a remount (nothing cached in the mount).
    @Test func sequentialWriteVerifiesAndReadsBackAfterARemount() async throws {
        guard Self.fioIsInstalled() else { return }
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let layout = ["--bs=64k", "--size=24M"]
                try await Self.run(mount, "seq.bin", ["--rw=write", "--do_verify=1", "--end_fsync=1"] + layout)
                #expect(try await cluster.client.stat(try DFSPath("/seq.bin")).info.size == 24 * 1_048_576)
                try await Self.run(mount, "seq.bin", ["--rw=read"] + layout)
                await mount.stop()
                try await mount.remount(meta)
                try await Self.run(mount, "seq.bin", ["--rw=randread", "--randseed=11"] + layout)
            }
        }
    }

    /// Writes of 4 to 64 KiB at random offsets (a file written out of order is staged whole
    /// and uploaded at its close), verified through the open file and, after a remount,
    /// again from the cluster's copy (fio's --verify_only replays the same offsets).
    @Test func randomWriteVerifiesBeforeAndAfterARemount() async throws {
        guard Self.fioIsInstalled() else { return }
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let job = ["--rw=randwrite", "--bsrange=4k-64k", "--size=16M", "--randseed=23"]
                try await Self.run(mount, "random.bin", job)
                #expect(try await cluster.client.stat(try DFSPath("/random.bin")).info.size == 16 * 1_048_576)
                await mount.stop()
                try await mount.remount(meta)
                try await Self.run(mount, "random.bin", job + ["--verify_only"])
            }
        }
    }

    /// Two readers of one file at once, one sequential and one at random offsets, sharing
    /// the mount's block cache; a file written by a job of two writers at separate ranges.
    @Test func concurrentReadersAndWritersVerify() async throws {
        guard Self.fioIsInstalled() else { return }
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                try await Self.run(mount, "shared.bin", ["--rw=write", "--bs=128k", "--size=16M"])
                async let sequential: Void = Self.run(mount, "shared.bin", ["--rw=read", "--bs=128k", "--size=16M"])
                async let random: Void = Self.run(mount, "shared.bin", ["--rw=randread", "--bs=128k", "--size=16M", "--randseed=5"])
                _ = try await (sequential, random)
                // Two jobs, each its own file (fio's name.N.0), written and verified at once.
                let both = try await Subprocess.run(
                    Self.fio,
                    [
                        "--name=pair", "--directory=\(mount.mountpoint)", "--numjobs=2", "--rw=randwrite", "--bs=16k", "--size=8M",
                        "--verify=crc32c", "--verify_fatal=1", "--verify_state_save=0", "--randseed=9",
                    ], timeout: .seconds(240))
                let output = both.standardOutput + both.standardError
                #expect(both.status == 0 && !output.contains("verify failed"), "\(output)")
                for index in 0..<2 {
                    #expect(try await cluster.client.stat(try DFSPath("/pair.\(index).0")).info.size == 8 * 1_048_576)
                }
            }
        }
    }
}
