import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A seeded run of random operations on one file through `dfs mount`, in the manner of
/// fsx: writes at random offsets, appends (a write at the end `lseek` finds), truncates that cut and that extend, reads at random offsets, and closes and reopens
/// (each an upload, each reopen a fresh staged copy of the cluster's version). After every
/// step the file, read whole through the mount, and its size equal a shadow buffer the same
/// operations were applied to; after each phase the cluster's copy does, and after a
/// remount the mount's.
@Suite(.enabled(if: TestMount.available, "\(TestMount.unavailableReason)"))
struct MountFsxTests {
    /// The operations of one phase, and what they found.
    struct Phase: Sendable {
        var generator: SeededGenerator
        var shadow: [UInt8]
        var problems: [String] = []
    }

    /// The file size the offsets and sizes range over: a few blocks of 1 MiB.
    static let span = 4 * 1_048_576

    /// Runs `steps` random operations on the file at `path` (made if missing), checking it
    /// against the shadow after each; closes it at the end. Stops at the first problem.
    static func run(_ path: String, steps: Int, _ start: Phase) -> Phase {
        var phase = start
        var generator = phase.generator
        var shadow = phase.shadow
        func finished() -> Phase {
            phase.generator = generator
            phase.shadow = shadow
            return phase
        }
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            phase.problems.append("open failed: errno \(errno)")
            return finished()
        }
        for step in 0..<steps {
            let operation = Int.random(in: 0..<20, using: &generator)
            var what = ""
            switch operation {
            case 0..<8:
                let offset = Int.random(in: 0..<span, using: &generator)
                let bytes = SplitMix64.bytes(count: Int.random(in: 1...100_000, using: &generator), seed: generator.next())
                what = "pwrite of \(bytes.count) at \(offset)"
                let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                guard written == bytes.count else {
                    phase.problems.append("step \(step): \(what) wrote \(written), errno \(errno)")
                    break
                }
                if shadow.count < offset + bytes.count { shadow += [UInt8](repeating: 0, count: offset + bytes.count - shadow.count) }
                shadow.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            case 8..<11:
                let bytes = SplitMix64.bytes(count: Int.random(in: 1...50_000, using: &generator), seed: generator.next())
                what = "append of \(bytes.count) to \(shadow.count)"
                let end = lseek(fd, 0, SEEK_END)
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard end == shadow.count, written == bytes.count else {
                    phase.problems.append("step \(step): \(what): the end at \(end), wrote \(written), errno \(errno)")
                    break
                }
                shadow += bytes
            case 11..<13:
                let size = Int.random(in: 0..<span, using: &generator)
                what = "ftruncate from \(shadow.count) to \(size)"
                guard ftruncate(fd, off_t(size)) == 0 else {
                    phase.problems.append("step \(step): \(what): errno \(errno)")
                    break
                }
                shadow = size <= shadow.count ? Array(shadow.prefix(size)) : shadow + [UInt8](repeating: 0, count: size - shadow.count)
            case 13..<19:
                let offset = Int.random(in: 0..<span, using: &generator)
                var buffer = [UInt8](repeating: 0, count: Int.random(in: 1...200_000, using: &generator))
                what = "pread of \(buffer.count) at \(offset)"
                let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                let expected = offset < shadow.count ? Array(shadow[offset..<min(shadow.count, offset + buffer.count)]) : []
                if count != expected.count || Array(buffer.prefix(max(count, 0))) != expected {
                    phase.problems.append("step \(step): \(what) gave \(count) bytes, \(expected.count) expected or other bytes")
                }
            default:
                what = "close and reopen"
                guard close(fd) == 0 else {
                    phase.problems.append("step \(step): close: errno \(errno)")
                    return finished()
                }
                fd = open(path, O_RDWR | O_CLOEXEC)
                guard fd >= 0 else {
                    phase.problems.append("step \(step): reopen failed: errno \(errno)")
                    return finished()
                }
            }
            if phase.problems.isEmpty, let problem = compare(fd, shadow) { phase.problems.append("after step \(step), \(what): \(problem)") }
            if !phase.problems.isEmpty { break }
        }
        if close(fd) != 0 { phase.problems.append("the last close: errno \(errno)") }
        return finished()
    }

    /// What differs between the file open as `fd` (its size, then its bytes read whole) and
    /// `shadow`; nil when nothing does.
    static func compare(_ fd: Int32, _ shadow: [UInt8]) -> String? {
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0 else { return "fstat: errno \(errno)" }
        guard status.st_size == shadow.count else { return "size \(status.st_size), \(shadow.count) expected" }
        var buffer = [UInt8](repeating: 0, count: shadow.count + 1)
        var done = 0
        while done < buffer.count {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if got < 0 { return "read at \(done): errno \(errno)" }
            if got == 0 { break }
            done += got
        }
        guard done == shadow.count else { return "read \(done) bytes, \(shadow.count) expected" }
        let same = buffer.withUnsafeBytes { read in shadow.withUnsafeBytes { done == 0 || memcmp(read.baseAddress!, $0.baseAddress!, done) == 0 } }
        return same ? nil : "other bytes"
    }

    /// Reads `path` whole and compares it with `shadow`.
    static func compare(_ path: String, _ shadow: [UInt8]) async throws -> String? {
        try await Subprocess.onOwnThread {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return "open \(path): errno \(errno)" }
            defer { close(fd) }
            return compare(fd, shadow)
        }
    }

    @Test(arguments: [UInt64(1), 2])
    func randomOperationsMatchAShadowBeforeAndAfterRemounts(seed: UInt64) async throws {
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { mount in
                let path = mount.path("fsx.bin")
                var phase = Phase(generator: SeededGenerator(seed: seed), shadow: [])
                for round in 0..<3 {
                    let start = phase
                    phase = try await Subprocess.onOwnThread { Self.run(path, steps: 100, start) }
                    #expect(phase.problems.isEmpty, "seed \(seed), round \(round): \(phase.problems)")
                    guard phase.problems.isEmpty else { return }
                    #expect(try await MountWriteTests.clusterBytes(cluster, "/fsx.bin") == phase.shadow, "seed \(seed), round \(round)")
                    await mount.stop()
                    try await mount.remount(meta)
                    let problem = try await Self.compare(path, phase.shadow)
                    #expect(problem == nil, "seed \(seed), after the remount of round \(round): \(problem ?? "")")
                }
            }
        }
    }
}
