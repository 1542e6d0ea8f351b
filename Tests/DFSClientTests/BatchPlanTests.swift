import DFSCore
import Testing

@testable import DFSClient

/// How a tree copy cuts its files into batches.
@Suite struct BatchPlanTests {
    func files(_ sizes: [Int]) throws -> [TreeFile] {
        try sizes.enumerated().map { TreeFile(local: "/l/\($0.offset)", remote: try DFSPath("/r/\($0.offset)"), size: $0.element) }
    }

    @Test func smallFilesAreBatchedInOrderAndLargeOnesGoAlone() throws {
        let sizes = [10, Limits.batchedFileBytesMax, Limits.batchedFileBytesMax + 1, 0, 5_000_000, 7]
        let plan = DFSClient.batches(of: try files(sizes), blockBytes: 64 << 20)
        #expect(plan.batches == [[0, 1, 3, 5]])
        #expect(plan.singles == [2, 4])
    }

    @Test func aBatchHoldsAtMost64FilesAnd4MiB() throws {
        let plan = DFSClient.batches(of: try files(Array(repeating: 1, count: 150)), blockBytes: 64 << 20)
        #expect(plan.batches.map(\.count) == [64, 64, 22])
        #expect(plan.batches.flatMap { $0 } == Array(0..<150))
        // 256 KiB files: 16 fill the 4 MiB payload limit.
        let big = DFSClient.batches(of: try files(Array(repeating: Limits.batchedFileBytesMax, count: 40)), blockBytes: 64 << 20)
        #expect(big.batches.map(\.count) == [16, 16, 8])
        #expect(big.singles.isEmpty)
    }

    @Test func aSmallBlockSizeKeepsLargerFilesOutOfBatches() throws {
        let plan = DFSClient.batches(of: try files([4096, 4097, 100]), blockBytes: 4096)
        #expect(plan.batches == [[0, 2]])
        #expect(plan.singles == [1])
    }
}
