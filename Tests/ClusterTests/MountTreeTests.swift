import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A tree of over a thousand real files onto `dfs mount` with `cp -a`, `rsync -a` and
/// `tar -x`, each compared with `diff -r`, and copied back out with `dfs cp -r`.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountTreeTests {
    static let fileCount = 1200

    /// `fileCount` files in 40 folders two levels deep, of 0 to 6 KiB (a few of some
    /// hundred KiB and one of two blocks), with modes of their own and an old time.
    static func makeTree(_ local: TempFolder) async throws {
        for index in 0..<fileCount {
            let folder = "tree/d\(index % 8)/e\(index % 5)"
            if index < 40 { try FileSystem.makeFolders(local.path(folder)) }
            let size = index % 500 == 7 ? 300_000 + index : (index * 2_654_435_761) % 6_144
            try local.writeRandomFile("\(folder)/f\(index)", count: size, seed: UInt64(9_000 + index))
        }
        try local.writeRandomFile("tree/two-blocks", count: 1_048_576 + 4_097, seed: 8_999)
        let touched = try await Posix.shell(
            "cd '\(local.path("tree"))' && chmod 600 d1/e1/* && chmod 750 d2 && touch -m -d '2021-03-04 05:06:07' d3/e3/*")
        #expect(touched.status == 0, "\(touched.standardError)")
    }

    @Test func thousandsOfFilesByCpRsyncAndTarDiffCleanAndCopyBackOut() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        try await Self.makeTree(local)
        let tree = local.path("tree")
        let archive = try await Posix.shell("tar -cf '\(local.path("tree.tar"))' -C '\(local.path(""))' tree")
        #expect(archive.status == 0, "\(archive.standardError)")
        // What a copy keeps: the mode and time of every folder and file, and each file's size.
        let describe = "find . -mindepth 1 \\( -type d -printf '%P d %m %Ts\\n' \\) -o \\( -type f -printf '%P f %m %Ts %s\\n' \\) | sort"
        let expected = try await Posix.shell("cd '\(tree)' && \(describe)").standardOutput
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let copies = [
                    ("cp", "cp -a '\(tree)' '\(mount.path("cp"))'"),
                    ("rsync", "rsync -a '\(tree)/' '\(mount.path("rsync"))/'"),
                    ("tar", "mkdir '\(mount.path("tar"))' && tar -xpf '\(local.path("tree.tar"))' -C '\(mount.path("tar"))' --strip-components=1"),
                ]
                for (name, command) in copies {
                    let copy = try await Posix.shell(command, timeout: .seconds(600))
                    #expect(copy.status == 0, "\(name): \(copy.standardError)")
                    let diff = try await Posix.shell("diff -r '\(tree)' '\(mount.path(name))'", timeout: .seconds(300))
                    #expect(diff.status == 0, "\(name): \(diff.standardOutput.prefix(2000))\(diff.standardError)")
                    let shown = try await Posix.shell("cd '\(mount.path(name))' && \(describe)")
                    #expect(shown.standardOutput == expected, "\(name): the mount shows other types, modes, times or sizes")
                }
            }
            // Out through the command line, from the cluster itself.
            for name in ["cp", "rsync", "tar"] {
                let back = try await DFSBinary.run(["cp", "-r", "\(meta):/\(name)", local.path("back-\(name)")], timeout: .seconds(300))
                #expect(back.status == 0, "\(name): \(back.standardError)")
                let diff = try await Posix.shell("diff -r '\(tree)' '\(local.path("back-\(name)"))'", timeout: .seconds(300))
                #expect(diff.status == 0, "\(name): \(diff.standardOutput.prefix(2000))\(diff.standardError)")
            }
        }
    }
}
