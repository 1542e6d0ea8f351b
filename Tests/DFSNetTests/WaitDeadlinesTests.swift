import DFSCore
import Testing

@testable import DFSNet

/// The table of wait deadlines, driven by hand: its own timer ticks only once an hour here.
@Suite struct WaitDeadlinesTests {
    typealias Key = WaitDeadlines.Key

    final class Expired: Sendable {
        let generations = Mutex<[UInt64]>([])
        func record(_ generation: UInt64) { generations.withLock { $0.append(generation) } }
        var all: [UInt64] { generations.withLock { $0 } }
    }

    static func key(_ output: Bool = false) -> Key { Key(owner: ObjectIdentifier(WaitDeadlinesTests.self), output: output) }

    @Test func aDeadlineExpiresOnceItHasPassedAndNotBefore() {
        let table = WaitDeadlines(tick: .seconds(3600))
        let expired = Expired()
        let start = ContinuousClock.now
        table.set(Self.key(), .init(deadline: start + .seconds(5), generation: 7, expire: expired.record))
        table.check(now: start + .seconds(4))
        #expect(expired.all.isEmpty)
        #expect(table.count == 1)
        table.check(now: start + .seconds(5))
        #expect(expired.all == [7])
        #expect(table.count == 0)
        table.check(now: start + .seconds(9))
        #expect(expired.all == [7], "an expired deadline is handed over once")
    }

    @Test func aClearedWaitNeverExpires() {
        let table = WaitDeadlines(tick: .seconds(3600))
        let expired = Expired()
        let start = ContinuousClock.now
        table.set(Self.key(), .init(deadline: start + .seconds(1), generation: 1, expire: expired.record))
        table.clear(Self.key())
        table.check(now: start + .seconds(2))
        #expect(expired.all.isEmpty)
        #expect(table.count == 0)
    }

    @Test func aNewWaitReplacesTheDeadlineOfTheOneBefore() {
        let table = WaitDeadlines(tick: .seconds(3600))
        let expired = Expired()
        let start = ContinuousClock.now
        table.set(Self.key(), .init(deadline: start + .seconds(1), generation: 1, expire: expired.record))
        table.set(Self.key(), .init(deadline: start + .seconds(10), generation: 2, expire: expired.record))
        table.check(now: start + .seconds(5))
        #expect(expired.all.isEmpty, "the first wait's deadline went with it")
        table.check(now: start + .seconds(10))
        #expect(expired.all == [2])
    }

    @Test func eachDirectionKeepsItsOwnDeadline() {
        let table = WaitDeadlines(tick: .seconds(3600))
        let reads = Expired()
        let writes = Expired()
        let start = ContinuousClock.now
        table.set(Self.key(false), .init(deadline: start + .seconds(1), generation: 3, expire: reads.record))
        table.set(Self.key(true), .init(deadline: start + .seconds(2), generation: 4, expire: writes.record))
        table.check(now: start + .seconds(1))
        #expect(reads.all == [3] && writes.all.isEmpty)
        table.check(now: start + .seconds(2))
        #expect(writes.all == [4])
    }

    @Test func theSharedTimerEndsAWaitBeyondItsDeadlineWithinAFewTicks() async throws {
        let table = WaitDeadlines(tick: .milliseconds(10))
        let expired = Expired()
        table.set(Self.key(), .init(deadline: .now + .milliseconds(30), generation: 9, expire: expired.record))
        let giveUp = ContinuousClock.now + .seconds(10)
        while expired.all.isEmpty && ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(5)) }
        #expect(expired.all == [9])
        #expect(table.count == 0)
    }
}
