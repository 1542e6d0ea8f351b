import DFSCore
import DFSSystem

/// One connection kept for one holder, for what belongs to a server session rather than to
/// a database: advisory locks (the active meta server's, later).
///
/// Calls run one at a time, in order, each on a ``BlockingIO`` thread. The connection is
/// never replaced: when it is lost, its locks are gone with it, and every later call throws
/// ``DFSError/Code/connectionFailed`` saying so, so that a holder cannot go on believing it
/// holds a lock that another server may have taken.
public final class PostgresSession: Sendable {
    /// The server process of this session (`pg_backend_pid()`), as `pg_locks` names it.
    public let backendPID: Int32
    private let pool: PostgresPool

    private init(backendPID: Int32, pool: PostgresPool) {
        self.backendPID = backendPID
        self.pool = pool
    }

    /// Opens the session's connection.
    public static func connect(uri: String, options: PostgresConnection.Options = PostgresConnection.Options()) async throws -> PostgresSession {
        let connection = try await PostgresConnection.connect(uri: uri, options: options)
        var poolOptions = PostgresPool.Options()
        poolOptions.connectionsMax = 1
        poolOptions.connection = options
        poolOptions.replacesBrokenConnections = false
        return PostgresSession(backendPID: connection.backendPID, pool: PostgresPool(uri: uri, options: poolOptions, opened: connection))
    }

    /// Runs `body` with the session's connection on a ``BlockingIO`` thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    /// ``PostgresConnection/tryAdvisoryLock(_:)`` on the session's connection.
    public func tryAdvisoryLock(_ key: Int64) async throws -> Bool {
        try await run { try $0.tryAdvisoryLock(key) }
    }

    /// ``PostgresConnection/advisoryUnlock(_:)`` on the session's connection.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) async throws -> Bool {
        try await run { try $0.advisoryUnlock(key) }
    }

    /// Ends the session; the server releases its locks.
    public func close() async { await pool.close() }

    static func lostError(_ redactedURI: String) -> DFSError {
        DFSError(
            .connectionFailed, "the session's connection to PostgreSQL at \(redactedURI) was lost, and with it the session's advisory locks",
            transient: true)
    }
}
