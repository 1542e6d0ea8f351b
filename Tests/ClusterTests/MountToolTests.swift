import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Everyday programs on the mount: rsync, tar, a program that writes at random offsets, and
/// a reader whose data node dies under it.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountToolTests {
    /// A tree of folders, small files, an empty file and a file of two blocks.
    static func makeTree(_ local: TempFolder, _ name: String) throws -> [String: [UInt8]] {
        var expected: [String: [UInt8]] = [:]
        for index in 0..<60 {
            let folder = "\(name)/d\(index % 4)/e\(index % 3)"
            try FileSystem.makeFolders(local.path(folder))
            expected["\(folder)/f\(index)"] = try local.writeRandomFile("\(folder)/f\(index)", count: (index * 1_301) % 9_000, seed: UInt64(500 + index))
        }
        expected["\(name)/empty"] = try local.writeRandomFile("\(name)/empty", count: 0, seed: 1)
        expected["\(name)/two-blocks"] = try local.writeRandomFile("\(name)/two-blocks", count: 1_048_576 + 77, seed: 2)
        return expected
    }

    /// `rsync -a` writes each file under a temporary name and renames it into place: the tree
    /// arrives whole, `diff -r` is clean, and the cluster holds no temporary name.
    @Test func rsyncCopiesATreeThatDiffsClean() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync") else {
            Issue.record("rsync is missing: make deps installs it")
            return
        }
        let local = try TempFolder()
        defer { local.remove() }
        let expected = try Self.makeTree(local, "tree")
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let copy = try await Posix.shell("rsync -a '\(local.path("tree"))/' '\(mount.path("tree"))/'", timeout: .seconds(120))
                #expect(copy.status == 0, "\(copy.standardError)")
                let diff = try await Posix.shell("diff -r '\(local.path("tree"))' '\(mount.path("tree"))'")
                #expect(diff.status == 0, "\(diff.standardOutput)\(diff.standardError)")
            }
            // Every file under its own name, none under rsync's temporary ones.
            var listed: [String] = []
            var folders = [try DFSPath("/tree")]
            while let folder = folders.popLast() {
                for entry in try await cluster.client.list(folder).entries {
                    if entry.type == .dir { folders.append(entry.path) } else { listed.append(String(entry.path.string.dropFirst())) }
                }
            }
            #expect(Set(listed) == Set(expected.keys))
        }
    }

    /// `tar -x` onto the mount makes the folders and files an archive holds, byte for byte.
    @Test func tarExtractsOntoTheMount() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        _ = try Self.makeTree(local, "tree")
        let archive = try await Posix.shell("tar -cf '\(local.path("tree.tar"))' -C '\(local.path(""))' tree")
        #expect(archive.status == 0, "\(archive.standardError)")
        try await withCluster { cluster in
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                try FileSystem.makeFolders(mount.path("x"))
                let extract = try await Posix.shell("tar -xf '\(local.path("tree.tar"))' -C '\(mount.path("x"))'", timeout: .seconds(120))
                #expect(extract.status == 0, "\(extract.standardError)")
                let diff = try await Posix.shell("diff -r '\(local.path("tree"))' '\(mount.path("x/tree"))'")
                #expect(diff.status == 0, "\(diff.standardOutput)\(diff.standardError)")
            }
        }
    }

    /// Writes at random offsets, truncates and reads of one open file, checked against the
    /// same operations on a buffer (as fsx does): every read through the mount sees what the
    /// buffer holds, and after the close the cluster's file equals it. `DFS_TEST_SEED` picks
    /// another sequence than the default.
    @Test func randomWritesTruncatesAndReadsMatchAModel() async throws {
        let seed = ProcessInfo.processInfo.environment["DFS_TEST_SEED"].flatMap(UInt64.init) ?? 42
        let local = try TempFolder()
        defer { local.remove() }
        try await withCluster { cluster in
            let model = try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                let path = mount.path("random.bin")
                let (mismatches, model) = try await Subprocess.onOwnThread { () -> ([String], [UInt8]) in
                    var generator = SeededGenerator(seed: seed)
                    var model: [UInt8] = []
                    var found: [String] = []
                    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { return (["open failed: errno \(errno)"], []) }
                    defer { close(fd) }
                    let span = 3 * 1_048_576
                    for step in 0..<300 {
                        switch Int.random(in: 0..<10, using: &generator) {
                        case 0..<5:
                            let offset = Int.random(in: 0..<span, using: &generator)
                            let bytes = (0..<Int.random(in: 1...70_000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                            guard written == bytes.count else { return (found + ["step \(step): pwrite wrote \(written), errno \(errno)"], model) }
                            if model.count < offset + bytes.count { model += [UInt8](repeating: 0, count: offset + bytes.count - model.count) }
                            model.replaceSubrange(offset..<offset + bytes.count, with: bytes)
                        case 5:
                            let size = Int.random(in: 0..<span, using: &generator)
                            guard ftruncate(fd, off_t(size)) == 0 else { return (found + ["step \(step): ftruncate errno \(errno)"], model) }
                            model = size <= model.count ? Array(model.prefix(size)) : model + [UInt8](repeating: 0, count: size - model.count)
                        default:
                            let offset = Int.random(in: 0..<span, using: &generator)
                            var buffer = [UInt8](repeating: 0, count: Int.random(in: 1...200_000, using: &generator))
                            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                            let expected = offset < model.count ? Array(model[offset..<min(model.count, offset + buffer.count)]) : []
                            if count != expected.count || Array(buffer.prefix(max(count, 0))) != expected {
                                found.append("step \(step): pread of \(buffer.count) at \(offset) gave \(count) bytes, expected \(expected.count)")
                            }
                        }
                    }
                    guard fsync(fd) == 0 else { return (found + ["fsync errno \(errno)"], model) }
                    let back = (try? FileSystem.contents(of: path)) ?? []
                    if back != model { found.append("the file read back by path differs from the model (\(back.count) bytes, \(model.count) expected)") }
                    return (found, model)
                }
                #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.prefix(5))")
                return model
            }
            try await cluster.client.download(try DFSPath("/random.bin"), to: local.path("random.back"))
            #expect(try FileSystem.contents(of: local.path("random.back")) == model, "seed \(seed)")
        }
    }

    /// A file of many blocks on two replicas each; the mount reads it while one of the
    /// nodes that hold it is stopped: the reads go to the other replicas, and the bytes are
    /// the file's. The file is longer than the mount's read-ahead (32 MiB), so its last
    /// blocks are read only after the node is gone.
    @Test func readsGoOnWhenADataNodeStopsUnderThem() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let bytes = try local.writeRandomFile("big", count: 40 * 1_048_576 + 99, seed: 77)
        try await withCluster { cluster in
            let path = try DFSPath("/big")
            try await cluster.client.upload(localPath: local.path("big"), to: path, options: UploadOptions(blockBytes: 1 << 20, replication: 2))
            let holder = try #require(try await cluster.client.stat(path).blocks.last?.replicas.first?.nodeID)
            try await TestMount.with("127.0.0.1:\(cluster.metaEndpoint.port)") { mount in
                // The first block through the mount, then the node goes, then the rest.
                let fd = open(mount.path("big"), O_RDONLY | O_CLOEXEC)
                #expect(fd >= 0)
                defer { close(fd) }
                let first = try await Subprocess.onOwnThread { () -> [UInt8] in
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
                    return Array(buffer.prefix(max(count, 0)))
                }
                #expect(first == Array(bytes.prefix(65_536)))
                let index = try #require(cluster.dataServers.firstIndex { $0?.store.nodeID == holder })
                await cluster.stopDataNode(index)
                let whole = try await Posix.shell("cmp '\(mount.path("big"))' '\(local.path("big"))'", timeout: .seconds(120))
                #expect(whole.status == 0, "\(whole.standardOutput)\(whole.standardError)")
            }
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Two mounts of one cluster, as two machines would have.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct TwoMountTests {
    /// Close-to-open: what one mount wrote and closed, the other sees at its next open, new
    /// files and new versions alike (attribute and entry caches off, so that the check does
    /// not wait out their timeouts); a removal there is seen here.
    @Test func whatOneMountClosesTheOtherSeesAtItsNextOpen() async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            let noCache = ["--attr-timeout", "0s", "--entry-timeout", "0s"]
            try await TestMount.with(meta, arguments: noCache) { first in
                try await TestMount.with(meta, arguments: noCache) { second in
                    let write = try await Posix.shell("printf 'first version' > '\(first.path("shared.txt"))'")
                    #expect(write.status == 0, "\(write.standardError)")
                    let read = try await Posix.shell("cat '\(second.path("shared.txt"))'")
                    #expect(read.standardOutput == "first version", "\(read.standardError)")

                    let rewrite = try await Posix.shell("printf 'the second, longer version' > '\(first.path("shared.txt"))'")
                    #expect(rewrite.status == 0, "\(rewrite.standardError)")
                    let reread = try await Posix.shell("cat '\(second.path("shared.txt"))'")
                    #expect(reread.standardOutput == "the second, longer version", "\(reread.standardError)")

                    let remove = try await Posix.shell("rm '\(second.path("shared.txt"))'")
                    #expect(remove.status == 0, "\(remove.standardError)")
                    let gone = try await Posix.shell("test -e '\(first.path("shared.txt"))'")
                    #expect(gone.status == 1)
                }
            }
        }
    }
}
