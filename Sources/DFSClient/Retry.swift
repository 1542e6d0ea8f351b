import DFSCore
import Foundation

/// How long and how a client keeps trying when the cluster does not answer.
///
/// A meta server that restarts refuses connections for a few seconds, then has not heard
/// from its data nodes for a few more; a server over its connection limit asks to be tried
/// later. A client that gives up at once turns each of these into a failed command, so every
/// request, file and batch is tried again, with waits that grow, until it succeeds, fails
/// with an error that another try would not change, or `retryFor` has passed.
public struct RetryPolicy: Sendable {
    /// How long to keep trying before giving up; zero tries once.
    public var retryFor: Duration
    /// The first wait, doubled after each failure up to `longestWait`.
    public var firstWait: Duration = .milliseconds(100)
    /// The longest wait between two tries: a server that is back is noticed within it.
    public var longestWait: Duration = .seconds(2)

    public init(retryFor: Duration = RetryPolicy.standardRetryFor) {
        self.retryFor = max(retryFor, .zero)
    }

    /// A minute: long enough for a planned restart of the meta server, short enough that a
    /// cluster that is really gone is reported while the user still waits for the answer.
    public static let standardRetryFor: Duration = .seconds(60)

    /// The wait before try number `attempt + 1` (`attempt` counts failures so far, from 0):
    /// `firstWait` doubled per failure, capped at `longestWait`, of which a random part
    /// (`jitter`, 0 to 1) is taken off down to half. Clients that failed together (a restart
    /// drops them all at once) come back spread out instead of all in the same instant.
    public func wait(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let doublings = min(max(attempt, 0), 30)
        var wait = firstWait
        for _ in 0..<doublings where wait < longestWait { wait = wait * 2 }
        wait = min(wait, longestWait)
        let kept = 1 - min(max(jitter, 0), 1) / 2
        return wait * kept
    }

    /// `1.5s`, `60s`: a wait as a person reads it.
    public static func describe(_ duration: Duration) -> String {
        let tenths = duration.inMilliseconds / 100
        return tenths % 10 == 0 || tenths >= 100 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
    }

    /// True for an error that may pass by itself, so that the same request may succeed later:
    /// the server could not be reached, the connection broke, a reply did not come in time,
    /// or the server said the condition is transient (busy, data nodes not heard from yet
    /// since it started). Errors a retry would only repeat (not found, already exists,
    /// unauthorized, an invalid path or argument, a checksum that does not match) are not,
    /// and neither is a cancelled task.
    public static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? DFSError else { return false }
        switch error.code {
        case .connectionFailed, .timeout: return true
        default: return error.transient == true
        }
    }
}

/// What a client tells its caller while it waits to try again.
public struct RetryNotice: Sendable {
    /// What is being tried: a request type (`createFile`) or an operation (`upload /a/b`).
    public var what: String
    /// Why the last try failed.
    public var error: DFSError
    /// Failed tries of this request so far.
    public var attempt: Int
    /// When the client first found the cluster not answering, this time; concurrent requests
    /// waiting on the same outage share it, so a caller can tell one outage from the next.
    public var outageStarted: ContinuousClock.Instant
    /// How long until this request gives up.
    public var remaining: Duration
}

/// When the client's current run of transient failures began, shared by every request of
/// one client: a request nested in another (a file's `allocateBlock` inside its upload)
/// gives up when the outage has lasted `retryFor`, and then the outer one gives up at once
/// instead of starting a wait of its own. Any success ends the outage.
final class OutageClock: Sendable {
    private struct State {
        var started: ContinuousClock.Instant?
        /// Some request already gave up on this outage.
        var exhausted = false
    }
    private let state = Mutex(State())

    /// Notes a failure at `now`; returns when the current outage began and whether a
    /// request has given up on it.
    func failed(at now: ContinuousClock.Instant) -> (started: ContinuousClock.Instant, exhausted: Bool) {
        state.withLock { state in
            if let since = state.started { return (since, state.exhausted) }
            state.started = now
            return (now, false)
        }
    }

    /// A request gave up on the outage that began at `started`.
    func gaveUp(on started: ContinuousClock.Instant) {
        state.withLock { state in
            if state.started == started { state.exhausted = true }
        }
    }

    func succeeded() {
        state.withLock { $0 = State() }
    }
}

/// Runs operations under a ``RetryPolicy``, telling `notice` about each wait.
struct Retrier: Sendable {
    let policy: RetryPolicy
    let outage = OutageClock()
    let notice: (@Sendable (RetryNotice) -> Void)?

    /// Runs `body` until it succeeds, throws an error that is not transient, or the policy's
    /// time is up; then the last error is thrown. `body` gets the number of failed tries
    /// before it (0 on the first), so an operation that cannot tell whether an earlier try
    /// took effect (its reply was lost) can check. With `ownDeadline`, the wait is measured
    /// from this operation's own first failure only, not from the start of the outage: for
    /// cleanup (abandoning a pending file) after an operation that gave up on that outage.
    func run<T>(_ what: @autoclosure () -> String, ownDeadline: Bool = false, _ body: (Int) async throws -> T) async throws -> T {
        var attempt = 0
        var firstFailure: ContinuousClock.Instant?
        while true {
            do {
                let result = try await body(attempt)
                outage.succeeded()
                return result
            } catch let failure {
                guard policy.retryFor > .zero, !Task.isCancelled, RetryPolicy.isTransient(failure) else { throw failure }
                let now = ContinuousClock.now
                let mine = firstFailure ?? now
                firstFailure = mine
                let (outageStarted, exhausted) = outage.failed(at: now)
                let start = ownDeadline ? mine : min(mine, outageStarted)
                let remaining = policy.retryFor - (now - start)
                // The last wait is cut short so that the last try comes at the deadline.
                let wait = min(policy.wait(afterAttempt: attempt, jitter: Double.random(in: 0...1)), remaining)
                guard remaining > .zero, ownDeadline || !exhausted else {
                    if !ownDeadline { outage.gaveUp(on: outageStarted) }
                    throw attempt == 0 ? failure : Self.gaveUp(failure, after: now - start)
                }
                attempt += 1
                notice?(RetryNotice(what: what(), error: DFSError.wrap(failure), attempt: attempt, outageStarted: outageStarted, remaining: remaining))
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    // Cancelled while waiting: the caller wants the failure, not a CancellationError.
                    throw failure
                }
            }
        }
    }

    /// The last error, saying how long it was retried (the code stays, so callers still tell
    /// one failure from another).
    static func gaveUp(_ error: any Error, after waited: Duration) -> DFSError {
        var failure = DFSError.wrap(error)
        failure.message += " (gave up after retrying for \(RetryPolicy.describe(waited)))"
        return failure
    }
}
