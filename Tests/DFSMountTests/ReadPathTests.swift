import DFSClient
import DFSCore
import DFSTesting
import Testing

@testable import DFSMount

/// The mount's read path against an in-process cluster: ``ReadHandle`` reading through the
/// shared ``BlockCache`` in pieces, with small pieces and blocks so every boundary is near.
@Suite struct ReadPathTests {
    static let kibibyte = 1024
    /// Blocks of 1 MiB read in pieces of 256 KiB: four pieces a block.
    static let blockBytes = 1024 * 1024
    static let pieceBytes = 256 * 1024

    /// Reads that start and end on, just before and just after piece and block boundaries,
    /// that span pieces and blocks, the whole file at once, past its end, and at random
    /// offsets in random order give the source file's bytes.
    @Test func readsAtAndAcrossPieceAndBlockBoundariesGiveTheFilesBytes() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let size = 3 * Self.blockBytes + 5 * Self.pieceBytes / 2 + 777
        let original = try local.writeRandomFile("f", count: size, seed: 5)
        try await withCluster(dataNodes: 1) { cluster in
            let path = try DFSPath("/f")
            try await Self.upload(local.path("f"), to: path, cluster)
            let cache = BlockCache(client: cluster.client, capacityBytes: 2 * Self.blockBytes, pieceBytes: Self.pieceBytes)
            let reader = ReadHandle(path: path, file: try await cluster.client.stat(path), cache: cache)

            var cases: [(offset: Int, count: Int)] = []
            for boundary in stride(from: Self.pieceBytes, to: size, by: Self.pieceBytes) {
                for offset in [boundary - 1, boundary, boundary + 1] {
                    cases += [(offset, 1), (offset, 4096), (offset, 128 * Self.kibibyte), (offset, Self.pieceBytes + 3)]
                }
                cases.append((boundary - 100, 200))
            }
            cases += [(0, size), (0, size + 10), (size - 1, 100), (size, 10), (size + 5, 10), (12345, 3 * Self.blockBytes)]
            var generator = SplitMix64(seed: 9)
            for _ in 0..<200 {
                let offset = Int(generator.next() % UInt64(size))
                cases.append((offset, 1 + Int(generator.next() % UInt64(2 * Self.pieceBytes))))
            }
            for (offset, count) in cases {
                let bytes = try await reader.read(at: offset, count: count)
                let expected = offset < size ? original[offset..<min(size, offset + count)] : []
                #expect(Array(bytes) == Array(expected), "read of \(count) bytes at \(offset)")
            }
        }
    }

    /// Many files read in order at once, through a cache of a few pieces: every byte is
    /// right, and the cache never holds more than its capacity beyond the pieces the readers
    /// wait for (one each), nor anything beyond its capacity once they are done. Two reads
    /// of one piece share one transfer.
    @Test func manyFilesReadAtOnceKeepTheCacheWithinItsBound() async throws {
        let local = try TempFolder()
        defer { local.remove() }
        let fileCount = 12
        let size = 2 * Self.blockBytes + 1000
        var originals: [[UInt8]] = []
        try await withCluster(dataNodes: 1) { cluster in
            for index in 0..<fileCount {
                originals.append(try local.writeRandomFile("f\(index)", count: size, seed: UInt64(100 + index)))
                try await Self.upload(local.path("f\(index)"), to: try DFSPath("/f\(index)"), cluster)
            }
            let capacity = 4 * Self.pieceBytes
            let cache = BlockCache(client: cluster.client, capacityBytes: capacity, pieceBytes: Self.pieceBytes)
            let first = try #require(try await cluster.client.stat(try DFSPath("/f0")).blocks.first)
            let one = await cache.read(first, piece: 0, path: try DFSPath("/f0"))
            let other = await cache.read(first, piece: 0, path: try DFSPath("/f0"))
            #expect(one == other)
            _ = try await one.value

            let peak = Mutex(0)
            let snapshot = originals
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<fileCount {
                    let path = try DFSPath("/f\(index)")
                    let reader = ReadHandle(path: path, file: try await cluster.client.stat(path), cache: cache)
                    group.addTask {
                        var offset = 0
                        while offset < size {
                            let bytes = try await reader.read(at: offset, count: 128 * Self.kibibyte)
                            #expect(Array(bytes) == Array(snapshot[index][offset..<min(size, offset + 128 * Self.kibibyte)]))
                            let held = await cache.held
                            peak.withLock { $0 = max($0, held) }
                            offset += bytes.count
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(peak.withLock { $0 } <= capacity + fileCount * Self.pieceBytes)
            #expect(await cache.held <= capacity)
        }
    }

    private static func upload(_ localPath: String, to path: DFSPath, _ cluster: TestCluster) async throws {
        _ = try await cluster.client.upload(localPath: localPath, to: path, options: UploadOptions(blockBytes: blockBytes, replication: 1))
    }
}
