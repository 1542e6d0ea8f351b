import DFSCore
import Foundation
import Testing

@Suite struct BatcherTests {
    /// Requests that arrive while a pass runs share the next one; every caller gets its own
    /// result, in its own order.
    @Test func concurrentRequestsShareBatchesAndGetTheirOwnResults() async throws {
        let passes = Mutex<[Int]>([])
        let batcher = Batcher<Int, Int>(label: "test.batcher") { requests in
            passes.withLock { $0.append(requests.count) }
            // A slow pass, as an fsync is: others pile up meanwhile.
            usleep(20_000)
            return requests.map { .success($0 * 2) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for value in 0..<200 {
                group.addTask { (value, try await batcher.submit(value)) }
            }
            var collected: [Int: Int] = [:]
            for try await (value, doubled) in group { collected[value] = doubled }
            return collected
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.value == $0.key * 2 })
        let sizes = passes.withLock { $0 }
        #expect(sizes.reduce(0, +) == 200)
        #expect(sizes.count < 200, "no two requests ever shared a pass: \(sizes)")
    }

    /// A failure goes to the request it belongs to, not to its batch mates.
    @Test func failuresReachOnlyTheirOwnCaller() async throws {
        let batcher = Batcher<Int, Int>(label: "test.batcher") { requests in
            requests.map { $0 % 2 == 0 ? .success($0) : .failure(DFSError(.ioError, "odd \($0)")) }
        }
        for value in 0..<6 {
            if value % 2 == 0 {
                #expect(try await batcher.submit(value) == value)
            } else {
                await #expect(throws: DFSError.self) { _ = try await batcher.submit(value) }
            }
        }
    }

    /// A pass takes at most `batchMax` requests; the rest wait for the next pass.
    @Test func passesAreBounded() async throws {
        let passes = Mutex<[Int]>([])
        let batcher = Batcher<Int, Void>(label: "test.batcher", batchMax: 4) { requests in
            passes.withLock { $0.append(requests.count) }
            usleep(5_000)
            return requests.map { _ in .success(()) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for value in 0..<40 { group.addTask { try await batcher.submit(value) } }
            try await group.waitForAll()
        }
        let sizes = passes.withLock { $0 }
        #expect(sizes.reduce(0, +) == 40)
        #expect(sizes.allSatisfy { $0 <= 4 }, "\(sizes)")
    }
}
