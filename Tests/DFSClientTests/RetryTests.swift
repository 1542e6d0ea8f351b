import DFSCore
import Foundation
import Testing

@testable import DFSClient

/// Which failures a client retries, how long it waits between tries, and when it gives up.
@Suite struct RetryTests {
    @Test func waitsDoubleFromTheFirstWaitUpToTheLongest() {
        let policy = RetryPolicy(retryFor: .seconds(60))
        let waits = (0..<8).map { policy.wait(afterAttempt: $0, jitter: 0) }
        #expect(
            waits == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .seconds(2), .seconds(2), .seconds(2),
            ])
        #expect(policy.wait(afterAttempt: 1_000_000, jitter: 0) == .seconds(2), "no overflow after many failures")
        #expect(policy.wait(afterAttempt: -1, jitter: 0) == .milliseconds(100))
    }

    @Test func jitterTakesOffUpToHalfOfTheWait() {
        let policy = RetryPolicy(retryFor: .seconds(60))
        #expect(policy.wait(afterAttempt: 5, jitter: 1) == .seconds(1))
        #expect(policy.wait(afterAttempt: 5, jitter: 0.5) == .milliseconds(1500))
        #expect(policy.wait(afterAttempt: 0, jitter: 7) == .milliseconds(50), "jitter outside 0...1 is clamped")
        for _ in 0..<100 {
            let wait = policy.wait(afterAttempt: 3, jitter: Double.random(in: 0...1))
            #expect(wait >= .milliseconds(400) && wait <= .milliseconds(800))
        }
    }

    @Test func aNegativeRetryForMeansNoRetries() {
        #expect(RetryPolicy(retryFor: .seconds(-5)).retryFor == .zero)
    }

    @Test func connectionFailuresTimeoutsAndTransientRefusalsAreRetried() {
        #expect(RetryPolicy.isTransient(DFSError(.connectionFailed, "cannot connect to 127.0.0.1:1: connection refused")))
        #expect(RetryPolicy.isTransient(DFSError(.connectionFailed, "connection to x failed: connection reset by peer")))
        #expect(RetryPolicy.isTransient(DFSError(.timeout, "x did not respond in time")))
        #expect(RetryPolicy.isTransient(DFSError(.unavailable, "server busy", transient: true)))
        #expect(RetryPolicy.isTransient(DFSError(.unavailable, "no data node is registered and alive", transient: true)))
    }

    @Test(arguments: [
        DFSError.Code.notFound, .alreadyExists, .invalidPath, .invalidArgument, .notADirectory, .isADirectory,
        .tooLarge, .unavailable, .checksumMismatch, .unauthorized, .protocolError, .ioError, .internalError,
    ])
    func definitiveErrorsAreNotRetried(_ code: DFSError.Code) {
        #expect(!RetryPolicy.isTransient(DFSError(code, "no")))
        #expect(!RetryPolicy.isTransient(DFSError(code, "no", transient: false)))
    }

    @Test func errorsThatAreNotTheClustersAreNotRetried() {
        #expect(!RetryPolicy.isTransient(CancellationError()))
        #expect(!RetryPolicy.isTransient(CocoaError(.fileReadNoPermission)))
    }

    @Test func theTransientFlagTravelsOnlyWhenSet() throws {
        let plain = String(decoding: try JSONEncoder().encode(DFSError(.notFound, "x")), as: UTF8.self)
        #expect(!plain.contains("transient"), "the wire form of other errors is unchanged")
        let flagged = try JSONEncoder().encode(DFSError(.unavailable, "x", transient: true))
        #expect(try JSONDecoder().decode(DFSError.self, from: flagged).transient == true)
        let old = try JSONDecoder().decode(DFSError.self, from: Data(#"{"code":"unavailable","message":"x"}"#.utf8))
        #expect(old.transient == nil)
    }

    @Test func describesWaitsAsPeopleReadThem() {
        #expect(RetryPolicy.describe(.seconds(60)) == "60s")
        #expect(RetryPolicy.describe(.milliseconds(1500)) == "1.5s")
        #expect(RetryPolicy.describe(.milliseconds(12_345)) == "12s")
        #expect(RetryPolicy.describe(.zero) == "0s")
    }

    /// Counts tries, failing the first `failures` with `error`.
    final class Flaky: Sendable {
        let tries = Mutex(0)
        let failures: Int
        let error: DFSError
        init(failures: Int, error: DFSError) {
            self.failures = failures
            self.error = error
        }
        func call(_ attempt: Int) throws -> Int {
            let count = tries.withLock { tries in
                tries += 1
                return tries
            }
            #expect(attempt == count - 1, "each try is told how many failed before it")
            if count <= failures { throw error }
            return count
        }
    }

    static func fast(_ retryFor: Duration, notices: Mutex<[RetryNotice]> = Mutex([])) -> Retrier {
        var policy = RetryPolicy(retryFor: retryFor)
        policy.firstWait = .milliseconds(5)
        policy.longestWait = .milliseconds(20)
        return Retrier(policy: policy, notice: { notice in notices.withLock { $0.append(notice) } })
    }

    @Test func aTransientFailureIsTriedAgainUntilItSucceeds() async throws {
        let notices = Mutex<[RetryNotice]>([])
        let retrier = Self.fast(.seconds(10), notices: notices)
        let flaky = Flaky(failures: 3, error: DFSError(.connectionFailed, "connection refused"))
        let result = try await retrier.run("test") { try flaky.call($0) }
        #expect(result == 4)
        let seen = notices.withLock { $0 }
        #expect(seen.map(\.attempt) == [1, 2, 3])
        #expect(seen.allSatisfy { $0.what == "test" && $0.error.code == .connectionFailed })
        #expect(Set(seen.map(\.outageStarted)).count == 1, "one outage")
    }

    @Test func aDefinitiveFailureIsNotTriedAgain() async throws {
        let notices = Mutex<[RetryNotice]>([])
        let retrier = Self.fast(.seconds(10), notices: notices)
        let flaky = Flaky(failures: 5, error: DFSError(.notFound, "no such file"))
        let error = await #expect(throws: DFSError.self) { try await retrier.run("test") { try flaky.call($0) } }
        #expect(error?.message == "no such file", "the error as it came")
        #expect(flaky.tries.withLock { $0 } == 1)
        #expect(notices.withLock { $0.isEmpty })
    }

    @Test func retryForZeroTriesOnce() async throws {
        let retrier = Self.fast(.zero)
        let flaky = Flaky(failures: 5, error: DFSError(.connectionFailed, "connection refused"))
        let error = await #expect(throws: DFSError.self) { try await retrier.run("test") { try flaky.call($0) } }
        #expect(error?.message == "connection refused")
        #expect(flaky.tries.withLock { $0 } == 1)
    }

    @Test func givesUpWhenTheTimeIsUpAndSaysHowLongItTried() async throws {
        let retrier = Self.fast(.milliseconds(300))
        let flaky = Flaky(failures: .max, error: DFSError(.timeout, "no answer"))
        let started = ContinuousClock.now
        let error = await #expect(throws: DFSError.self) { try await retrier.run("test") { try flaky.call($0) } }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "\(elapsed)")
        #expect(error?.code == .timeout)
        #expect(error?.message.hasPrefix("no answer (gave up after retrying for") == true, "\(error?.message ?? "")")
        #expect(flaky.tries.withLock { $0 } >= 2)
    }

    /// A request inside an operation that retries too (a file's `allocateBlock` inside its
    /// upload) gives up at the end of the outage's time; the operation then gives up at
    /// once instead of waiting as long again.
    @Test func nestedRetriesShareOneOutage() async throws {
        let retrier = Self.fast(.milliseconds(300))
        let inner = Flaky(failures: .max, error: DFSError(.connectionFailed, "connection refused"))
        let outerTries = Mutex(0)
        await #expect(throws: DFSError.self) {
            try await retrier.run("outer") { _ in
                outerTries.withLock { $0 += 1 }
                return try await retrier.run("inner") { try inner.call($0) }
            }
        }
        #expect(outerTries.withLock { $0 } == 1, "the outer operation did not start a wait of its own")
    }

    /// Cleanup after an operation that gave up (abandoning its pending file) gets time of
    /// its own: the meta server may answer again a moment later.
    @Test func cleanupWaitsFromItsOwnFirstFailure() async throws {
        let retrier = Self.fast(.milliseconds(300))
        let gone = Flaky(failures: .max, error: DFSError(.connectionFailed, "connection refused"))
        await #expect(throws: DFSError.self) { try await retrier.run("upload") { try gone.call($0) } }
        let cleanup = Flaky(failures: 3, error: DFSError(.connectionFailed, "connection refused"))
        let result = try await retrier.run("abandonFile", ownDeadline: true) { try cleanup.call($0) }
        #expect(result == 4)
    }

    @Test func aSuccessEndsTheOutage() async throws {
        let notices = Mutex<[RetryNotice]>([])
        let retrier = Self.fast(.seconds(10), notices: notices)
        let first = Flaky(failures: 1, error: DFSError(.timeout, "slow"))
        let second = Flaky(failures: 1, error: DFSError(.timeout, "slow"))
        _ = try await retrier.run("first") { try first.call($0) }
        _ = try await retrier.run("second") { try second.call($0) }
        let outages = notices.withLock { $0.map(\.outageStarted) }
        #expect(outages.count == 2)
        #expect(outages[0] != outages[1], "a new outage after the success")
    }

    @Test func cancellationEndsTheWaitWithTheLastFailure() async throws {
        let retrier = Self.fast(.seconds(30))
        let flaky = Flaky(failures: .max, error: DFSError(.connectionFailed, "connection refused"))
        let task = Task { try await retrier.run("test") { try flaky.call($0) } }
        task.cancel()
        let started = ContinuousClock.now
        let result = await task.result
        // Far less than the 30 s it would retry for; loose, for a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .failure(let error) = result else {
            Issue.record("a cancelled retry succeeded")
            return
        }
        #expect((error as? DFSError)?.code == .connectionFailed)
    }
}
