import DFSCore
import DFSSystem

/// At most ``Options/connectionsMax`` connections to one database, shared by jobs that each
/// run on a ``BlockingIO`` thread with one connection to themselves.
///
/// A job that finds every connection busy waits its turn, first come first served; at most
/// ``Options/waitersMax`` wait, and none longer than ``Options/waitTimeout``: beyond either,
/// the call fails at once with a clear error rather than queueing without bound.
/// Connections open on first need. One found broken (the server ended it, or a job's
/// statement lost it) is closed and replaced by a fresh one.
public actor PostgresPool {
    public struct Options: Sendable, Hashable {
        /// Connections open at once. PostgreSQL runs a process per connection; a meta server
        /// needs few, as each statement is short.
        public var connectionsMax = 4
        /// Jobs that may wait for a connection; the next fails with `unavailable`.
        public var waitersMax = 256
        /// How long a job may wait for a connection before failing with `timeout`.
        public var waitTimeout: Duration = .seconds(30)
        public var connection = PostgresConnection.Options()
        /// False for a session's single connection: its session locks die with it, so a new
        /// one would not be the same session (``PostgresSession``).
        var replacesBrokenConnections = true

        public init() {}
    }

    /// What a job waiting for a connection is given: an open connection, or leave to open one.
    enum Grant: Sendable {
        case connection(PostgresConnection)
        case open
    }

    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Grant, any Error>
        let timer: Task<Void, Never>
    }

    let uri: String
    public nonisolated let options: Options
    var idle: [PostgresConnection] = []
    /// Connections open or being opened, idle or in use.
    var openCount = 0
    var waiters: [Waiter] = []
    var nextWaiterID: UInt64 = 0
    var isClosed = false
    /// Set when a session's connection is gone.
    var lostError: DFSError?

    /// A pool for the database `uri` names; the URI is checked now, connections open later.
    public init(uri: String, options: Options = Options()) throws(DFSError) {
        precondition(options.connectionsMax >= 1, "a pool needs at least one connection")
        try PostgresURI.validate(uri)
        self.uri = uri
        self.options = options
    }

    /// A pool around one connection already open (a session's).
    init(uri: String, options: Options, opened: PostgresConnection) {
        self.uri = uri
        self.options = options
        idle = [opened]
        openCount = 1
    }

    /// Connections open, of them idle, and jobs waiting (for tests and status).
    public var load: (open: Int, idle: Int, waiting: Int) { (openCount, idle.count, waiters.count) }

    /// Runs `body` with a connection to itself, on a ``BlockingIO`` thread, and returns what
    /// it returns. `body` blocks that thread, never the caller's.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let grant = try await acquire()
        let uri = uri
        let options = options
        let outcome = try await BlockingIO.run { () -> Outcome<T> in
            PostgresPool.runJob(grant: grant, uri: uri, options: options, body)
        }
        release(outcome.connection)
        return try outcome.result.get()
    }

    /// What a job leaves: its result, and the connection to give back (nil when it is gone).
    struct Outcome<T: Sendable>: Sendable {
        var connection: PostgresConnection?
        var result: Result<T, any Error>
    }

    private nonisolated static func runJob<T: Sendable>(
        grant: Grant, uri: String, options: Options, _ body: (PostgresConnection) throws -> T
    ) -> Outcome<T> {
        let connection: PostgresConnection
        switch grant {
        case .connection(let given) where given.checkIdle():
            connection = given
        case .connection(let given):
            given.close()
            guard options.replacesBrokenConnections else {
                return Outcome(connection: nil, result: .failure(PostgresSession.lostError(given.redactedURI)))
            }
            fallthrough
        case .open:
            do {
                connection = try PostgresConnection(uri: uri, options: options.connection)
            } catch {
                return Outcome(connection: nil, result: .failure(error))
            }
        }
        let result = Result { try body(connection) }
        // A job that left a transaction open (an explicit BEGIN, then a throw) must not hand
        // it to the next job.
        if connection.transactionState != .idle && !connection.isBroken {
            _ = try? connection.execute("ROLLBACK")
            if connection.transactionState != .idle { connection.close() }
        }
        if connection.isBroken {
            connection.close()
            let lost = options.replacesBrokenConnections ? nil : PostgresSession.lostError(connection.redactedURI)
            return Outcome(connection: nil, result: lost.map { .failure($0) } ?? result)
        }
        return Outcome(connection: connection, result: result)
    }
}
