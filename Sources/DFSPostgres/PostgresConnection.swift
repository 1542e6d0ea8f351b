import CLibPQ
import DFSCore
import DFSSystem
import Foundation

/// One connection to PostgreSQL through libpq. Every call blocks its thread until the
/// server answers: run them on ``BlockingIO`` (``PostgresPool`` and ``PostgresSession`` do),
/// never on the cooperative pool.
///
/// Not safe for two threads at once, as a libpq connection is not: it is `Sendable` only so
/// that a pool can hand it from thread to thread, one job at a time.
public final class PostgresConnection: @unchecked Sendable {
    public struct Options: Sendable, Hashable {
        /// How long connecting may take, TCP and authentication together (libpq's
        /// `connect_timeout`, in whole seconds, at least 2: libpq reads 1 as 2).
        public var connectTimeout: Duration = .seconds(5)
        public var limits = PostgresLimits()
        /// Shown in `pg_stat_activity`, so an operator can tell dfs's connections apart.
        public var applicationName = "dfs"

        public init() {}
    }

    private var handle: OpaquePointer?
    public let options: Options
    /// The URI with its password hidden, for messages.
    public let redactedURI: String
    /// The server process serving this connection (`pg_backend_pid()`), which
    /// `pg_terminate_backend` and `pg_locks` name.
    public let backendPID: Int32
    /// True once the connection is gone (the server closed it, the network failed, or
    /// ``close()`` was called): every later call throws, and a pool replaces it.
    public private(set) var isBroken = false
    /// The last statement's failure as PostgreSQL reported it; nil after a success.
    public internal(set) var lastFailure: PostgresFailure?
    /// Statements prepared on this connection: SQL text to the statement's name.
    var preparedStatements: [String: String] = [:]

    /// Connects (PQconnectdbParams) to the database `uri` names; blocks up to the connect
    /// timeout. A password comes from the URI, `PGPASSWORD` or `~/.pgpass`, as libpq finds it.
    public init(uri: String, options: Options = Options()) throws(DFSError) {
        try PostgresURI.validate(uri)
        self.options = options
        redactedURI = PostgresURI.redacted(uri)
        let timeoutSeconds = max(2, Int((options.connectTimeout.inSeconds).rounded(.up)))
        // The URI comes after the application name, so that one it names wins, and before
        // the rest, which dfs relies on: UTF-8 text, and keepalives that notice a server gone
        // silent within about 25 s (10 s idle, then 3 probes 5 s apart) rather than the
        // kernel's two hours.
        // tcp_user_timeout: a statement whose bytes the server stops acknowledging (its
        // machine powered off mid-call) fails after 10 s instead of the kernel's 15 minutes
        // of retransmissions; before the URI, so that one it names wins.
        let settings: [(String, String)] = [
            ("application_name", options.applicationName),
            ("tcp_user_timeout", "10000"),
            ("dbname", uri),
            ("connect_timeout", String(timeoutSeconds)),
            ("client_encoding", "UTF8"),
            ("keepalives", "1"),
            ("keepalives_idle", "10"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
        ]
        let raw = PostgresConnection.connect(settings)
        guard let raw, PQstatus(raw) == CONNECTION_OK else {
            let reason = raw.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(raw)
            throw DFSError(
                .connectionFailed, "cannot connect to PostgreSQL at \(redactedURI): \(PostgresFailure.oneLine(reason))", transient: true)
        }
        handle = raw
        backendPID = PQbackendPID(raw)
        // libpq prints notices (a ROLLBACK outside a transaction, say) on standard error by
        // default; the servers' output is their log, so notices are dropped.
        PQsetNoticeProcessor(raw, { _, _ in }, nil)
    }

    /// Connects on a ``BlockingIO`` thread.
    public static func connect(uri: String, options: Options = Options()) async throws -> PostgresConnection {
        try await BlockingIO.run { try PostgresConnection(uri: uri, options: options) }
    }

    private static func connect(_ settings: [(String, String)]) -> OpaquePointer? {
        var keywords = settings.map { strdup($0.0) }
        var values = settings.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        keywords.append(nil)
        values.append(nil)
        return keywords.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { keywordPointers in
            values.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }
    }

    deinit { PQfinish(handle) }

    /// Ends the session (PQfinish): the server drops its session locks and rolls back an
    /// open transaction.
    public func close() {
        PQfinish(handle)
        handle = nil
        isBroken = true
    }

    /// The libpq handle, or the error that says the connection is gone.
    func liveHandle() throws(DFSError) -> OpaquePointer {
        guard let handle, !isBroken else {
            throw DFSError(.connectionFailed, "the connection to PostgreSQL at \(redactedURI) is closed or lost", transient: true)
        }
        return handle
    }

    /// Notes whether the connection survived the last call.
    func updateBroken() {
        if let handle, PQstatus(handle) != CONNECTION_OK { isBroken = true }
    }

    /// Reads what the server sent while the connection sat idle, and says whether it is
    /// still usable. A backend ended by `pg_terminate_backend` or a server shutdown sends its
    /// last error and closes the socket; reading that here lets a pool replace the
    /// connection before a caller's statement fails on it. PQconsumeInput never blocks: libpq
    /// keeps its socket non-blocking. The second read sees the end of the stream the first
    /// may have stopped short of.
    func checkIdle() -> Bool {
        guard let handle, !isBroken else { return false }
        for _ in 0..<2 where PQconsumeInput(handle) != 0 {}
        updateBroken()
        return !isBroken
    }

    enum TransactionState { case idle, inTransaction, failed, unknown }

    /// PQtransactionStatus: whether a transaction is open, and whether a statement in it failed.
    var transactionState: TransactionState {
        guard let handle, !isBroken else { return .unknown }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .failed
        default: return .unknown
        }
    }
}
