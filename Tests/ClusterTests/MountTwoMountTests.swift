import DFSClient
import DFSCore
import DFSSystem
import DFSTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension TwoMountTests {
    /// One look at `path`: nil when it does not exist, else its bytes, read whole from one
    /// open.
    static func look(_ path: String) async throws -> [UInt8]? {
        try await Subprocess.onOwnThread {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT { return nil }
                throw DFSError(.ioError, "open \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if got < 0 { throw DFSError(.ioError, "read \(path): \(String(cString: strerror(errno)))") }
                if got == 0 { return bytes }
                bytes += buffer[0..<got]
            }
        }
    }

    /// What a look saw, for a message: which of `versions` (-1: none) or how many bytes.
    static func describe(_ seen: [UInt8]?, _ versions: [[UInt8]]) -> String {
        guard let seen else { return "no file" }
        if let index = versions.firstIndex(of: seen) { return "version \(index)" }
        return "\(seen.count) bytes that are no version"
    }

    /// With the default caches (attributes and entries kept 1 s): while one mount writes a
    /// version of several blocks (streamed to the cluster while open), the other sees the
    /// previous version whole, or no file; once it is closed, the other sees it whole
    /// within the timeouts, and every look in between sees one version whole, never part of
    /// one. Versions grow, then shrink.
    @Test func theOtherMountSeesAClosedVersionWholeAfterTheTimeoutsNeverPartOfIt() async throws {
        let versions = [
            SplitMix64.bytes(count: 3 * 1_048_576 + 11, seed: 1), SplitMix64.bytes(count: 5 * 1_048_576 + 7, seed: 2),
            SplitMix64.bytes(count: 1_048_576 + 5, seed: 3),
        ]
        try await withCluster { cluster in
            let meta = "127.0.0.1:\(cluster.metaEndpoint.port)"
            try await TestMount.with(meta) { writer in
                try await TestMount.with(meta) { reader in
                    let readerPath = reader.path("shared.bin")
                    var current: [UInt8]? = nil
                    #expect(try await Self.look(readerPath) == nil)
                    for (index, version) in versions.enumerated() {
                        let fd = try await Subprocess.onOwnThread { open(writer.path("shared.bin"), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644) }
                        #expect(fd >= 0)
                        guard fd >= 0 else { return }
                        for start in stride(from: 0, to: version.count, by: 1_048_576) {
                            try await MountWriteTests.write(fd, Array(version[start..<min(version.count, start + 1_048_576)]), at: start)
                        }
                        // Open with every block but the last sent: longer than both timeouts.
                        let openUntil = ContinuousClock.now + .milliseconds(2500)
                        while ContinuousClock.now < openUntil {
                            let seen = try await Self.look(readerPath)
                            if seen == current { continue }
                            Issue.record("while version \(index) was open the other mount saw \(Self.describe(seen, versions))")
                            break
                        }
                        #expect(try await Posix.errno { close(fd) } == 0)
                        let closed = ContinuousClock.now
                        var looks = 0
                        while true {
                            let seen = try await Self.look(readerPath)
                            looks += 1
                            if seen == version { break }
                            // Each open asks the cluster: a new version shows whole, at its own size.
                            if seen != current {
                                Issue.record("after version \(index) was closed the other mount saw \(Self.describe(seen, versions))")
                                break
                            }
                            guard ContinuousClock.now - closed < .seconds(5) else {
                                Issue.record("version \(index) not seen 5 s after its close (\(looks) looks)")
                                break
                            }
                        }
                        current = version
                    }
                }
            }
        }
    }
}
