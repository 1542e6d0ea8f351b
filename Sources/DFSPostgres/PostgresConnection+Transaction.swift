import DFSCore
import Foundation

/// How much a transaction sees of others running beside it.
public enum PostgresIsolation: String, Sendable {
    /// As if transactions ran one after another; PostgreSQL aborts one of two that could not
    /// (SQLSTATE 40001), and ``PostgresConnection/transaction(isolation:retries:_:)`` runs it
    /// again.
    case serializable = "SERIALIZABLE"
    /// Each statement sees what was committed before it began.
    case readCommitted = "READ COMMITTED"
}

extension PostgresConnection {
    /// Transactions that conflict over and over are not retried for ever.
    public static let transactionRetriesMax = 20

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// A serialization failure (40001) or a deadlock (40P01), in `body` or at COMMIT, rolls
    /// back and runs `body` again, up to `retries` more times, after a short random pause
    /// (1 to 2 ms doubling each time, at most 100 ms) so that the two transactions that
    /// collided do not collide again in step. `body` must therefore do nothing outside the
    /// database that it cannot do twice. Other errors roll back and are thrown at once.
    @discardableResult
    public func transaction<T>(
        isolation: PostgresIsolation = .serializable, retries: Int = 5, _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        precondition(retries >= 0 && retries <= PostgresConnection.transactionRetriesMax, "retries must be 0...\(PostgresConnection.transactionRetriesMax)")
        guard transactionState == .idle else {
            throw DFSError(.internalError, "a transaction is already open on this connection (transactions do not nest)")
        }
        var attempt = 0
        while true {
            do {
                return try attemptTransaction(isolation: isolation, body)
            } catch {
                guard attempt < retries, !isBroken, let failure = lastFailure, failure.isRetryable, failure.error == error as? DFSError else {
                    throw error
                }
                attempt += 1
                Thread.sleep(forTimeInterval: PostgresConnection.retryPause(attempt: attempt))
            }
        }
    }

    private func attemptTransaction<T>(isolation: PostgresIsolation, _ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        do {
            let result = try body(self)
            // A body that caught a failed statement's error and returned would make COMMIT
            // roll back without an error: say what happened instead.
            if transactionState == .failed {
                throw lastFailure?.error ?? DFSError(.internalError, "a statement of the transaction failed; it was rolled back")
            }
            try execute("COMMIT")
            return result
        } catch {
            // After a failed COMMIT the transaction is already over.
            if !isBroken && transactionState != .idle {
                let failure = lastFailure
                _ = try? execute("ROLLBACK")
                lastFailure = failure
            }
            throw error
        }
    }

    /// Seconds to wait before attempt `attempt + 1`: 1 ms doubled per attempt, capped at
    /// 100 ms, times a random factor between 1 and 2.
    static func retryPause(attempt: Int) -> Double {
        let base = min(0.1, 0.001 * Double(1 << min(attempt - 1, 10)))
        return base * Double.random(in: 1..<2)
    }
}
