import DFSCore
import DFSSystem
import Dispatch
import Testing

/// The blocking pool runs at most its width of jobs at once; the rest wait, in order.
@Suite struct BlockingPoolTests {
    /// Counts the jobs in flight and the most there ever were; each job holds its thread
    /// until the test lets it go.
    final class Gate: Sendable {
        let counts = Mutex((inFlight: 0, most: 0, started: [Int]()))
        let release = DispatchSemaphore(value: 0)

        func job(_ index: Int) -> @Sendable () -> Void {
            {
                self.counts.withLock {
                    $0.inFlight += 1
                    $0.most = max($0.most, $0.inFlight)
                    $0.started.append(index)
                }
                self.release.wait()
                self.counts.withLock { $0.inFlight -= 1 }
            }
        }
    }

    /// Waits for `condition` on the pool's counts, failing after a deadline instead of
    /// hanging a run.
    static func waitUntil(_ condition: () -> Bool, seconds: Double = 10) async {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        while !condition() {
            guard clock.now < deadline else {
                Issue.record("not reached within \(seconds) s")
                return
            }
            await Task.yield()
        }
    }

    @Test func noMoreThanTheWidthRunAtOnce() async throws {
        let pool = BlockingPool(label: "test.pool", width: 3)
        let gate = Gate()
        for index in 0..<10 { pool.submit(gate.job(index)) }
        // Every job was submitted before any was let go: three hold threads, seven wait.
        #expect(pool.load.running == 3)
        #expect(pool.load.waiting == 7)
        await Self.waitUntil { gate.counts.withLock { $0.inFlight } == 3 }
        for _ in 0..<10 { gate.release.signal() }
        await Self.waitUntil { pool.load == (0, 0) }
        #expect(gate.counts.withLock { $0.most } == 3)
        #expect(gate.counts.withLock { $0.started.count } == 10)
    }

    @Test func waitingJobsStartInTheOrderTheyCame() async {
        let pool = BlockingPool(label: "test.serial", width: 1)
        let gate = Gate()
        for index in 0..<20 { pool.submit(gate.job(index)) }
        for _ in 0..<20 { gate.release.signal() }
        await Self.waitUntil { pool.load == (0, 0) }
        #expect(gate.counts.withLock { $0.started } == Array(0..<20))
    }

    @Test func runReturnsTheResultAndRethrows() async throws {
        let pool = BlockingPool(label: "test.run", width: 2)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 { group.addTask { try await pool.run { index * 2 } } }
            return try await group.reduce(0, +)
        }
        #expect(results == (0..<50).reduce(0) { $0 + $1 * 2 })
        await #expect(throws: DFSError.self) { try await pool.run { throw DFSError(.ioError, "failed") } }
        #expect(BlockingIO.pool.width == Limits.blockingIOThreads)
    }
}
