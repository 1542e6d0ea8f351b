import DFSCore
import DFSPostgres
import Foundation

/// The meta store in PostgreSQL (`serve-meta --db postgres://...`), through one libpq
/// connection that the store's queue uses, one call at a time.
///
/// - Statements are rewritten once from the store's `?` and `?N` to PostgreSQL's `$N` and
///   run as prepared statements, so the server parses and plans each only once.
/// - Every transaction that writes is SERIALIZABLE. One that PostgreSQL aborts as a
///   serialization failure or a deadlock is rolled back and run again (a few times, after a
///   short pause), also when a savepoint inside it caught the failure.
/// - A COMMIT returns once PostgreSQL has made the transaction durable (its
///   `synchronous_commit`, on by default, and to a synchronous standby when one is
///   configured), so the store needs no group commit of its own: nothing is acknowledged
///   before PostgreSQL has committed it.
/// - With a ``MetaFence`` (a meta server elected through ``MetaElection``), each writing
///   transaction first checks, in the transaction and holding the lease row, that the
///   server's lease is still its own and not expired. A server that lost its lease (it was
///   stopped or cut off for longer than the lease, and another server took over) can thus
///   commit nothing: the check fails, the transaction rolls back, and the fence says so.
///   An open transaction cannot hold the lease row forever either: PostgreSQL ends a
///   session that sits idle inside a transaction for longer than
///   ``MetaFence/idleTransactionTimeout`` (a process that was stopped, say).
/// - A lost connection is opened again on the next call; the call that found it lost fails
///   with a transient error, which clients retry. Failing to reach PostgreSQL is
///   `unavailable` to the store's callers, never `connectionFailed` (see ``unreachable(_:)``).
final class PostgresMetaDatabase: MetaDatabase {
    var dialect: SQLDialect { .postgres }
    let path: String
    /// The database's URI as given, password included, to open more connections with.
    let uri: String
    private let fence: MetaFence?
    private var connection: PostgresConnection?
    /// The store's SQL rewritten for PostgreSQL, and whether to prepare it, by the store's text.
    private var rewritten: [String: (text: String, prepared: Bool)] = [:]
    private var inTransaction = false
    /// A statement of the open transaction failed in a way that the whole transaction
    /// must be run again for (serialization failure, deadlock), even if a savepoint caught it.
    private var mustRetry = false

    /// Transactions that keep colliding are not retried for ever.
    static let transactionRetries = 8

    init(uri: String, fence: MetaFence? = nil) throws(DFSError) {
        self.uri = uri
        self.fence = fence
        path = PostgresURI.redacted(uri)
        connection = try open()
    }

    private func open() throws(DFSError) -> PostgresConnection {
        var options = PostgresConnection.Options()
        options.applicationName = "dfs meta"
        // The store's queries are as large as the namespace makes them, as in SQLite: every
        // replica a node holds (its full block report), every block under a folder (fsck).
        // The client's default bounds (10,000 rows, 64 MiB) would fail those past a
        // modest size, so the store lifts them.
        options.limits.rowsMax = .max
        options.limits.resultBytesMax = .max
        let connection = try PostgresConnection(uri: uri, options: options)
        var settings = ["SET TIME ZONE 'UTC'"]
        if let fence {
            let milliseconds = Int(fence.idleTransactionTimeout.inSeconds * 1000)
            settings.append("SET idle_in_transaction_session_timeout = \(max(1, milliseconds))")
        }
        _ = try connection.simpleQuery(settings.joined(separator: "; "))
        return connection
    }

    /// The connection, opened again if the last one was lost.
    private func live() throws(DFSError) -> PostgresConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        guard !inTransaction else {
            throw DFSError(.unavailable, "lost the connection to PostgreSQL at \(path) during a transaction", transient: true)
        }
        do {
            let opened = try open()
            connection = opened
            return opened
        } catch {
            throw Self.unreachable(error)
        }
    }

    /// `error` as the store's callers see it. libpq's `connectionFailed` is about the meta
    /// server's connection to its database, not the client's to the meta server: passed on
    /// as it is, the request loop (`FrameServer`) would take it for the client's connection
    /// and close that without an answer, and a client or node given several meta servers
    /// would move on to a standby. As `unavailable` and transient, it hears why and retries
    /// here, where the connection is opened again.
    static func unreachable(_ error: DFSError) -> DFSError {
        guard error.code == .connectionFailed else { return error }
        return DFSError(.unavailable, error.message, transient: true)
    }

    func execute(_ sql: String) throws(DFSError) {
        let connection = try live()
        do {
            _ = try connection.simpleQuery(sql)
        } catch {
            noteFailure(connection)
            throw Self.unreachable(error)
        }
    }

    func query<T>(_ sql: String, _ values: [SQLValue], row: (any MetaRow) -> T) throws(DFSError) -> [T] {
        try statement(sql, values).rows.map { row(PostgresMetaRow(row: $0)) }
    }

    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int {
        // A write outside a transaction is a transaction of its own, checked by the fence.
        if !inTransaction && fence != nil {
            return try transaction { () throws(DFSError) -> Int in try statement(sql, values).changedRows }
        }
        return try statement(sql, values).changedRows
    }

    func insertReturningID(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int64 {
        let insert = { () throws(DFSError) -> Int64 in
            guard let row = try self.statement(sql + " RETURNING id", values).rows.first, let bytes = row.textBytes(0),
                let id = Int64(String(decoding: bytes, as: UTF8.self))
            else { throw DFSError(.internalError, "database \(self.path): an insert returned no id") }
            return id
        }
        if !inTransaction && fence != nil { return try transaction(insert) }
        return try insert()
    }

    private func statement(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> (rows: [PostgresRow], changedRows: Int) {
        let connection = try live()
        let statement: (text: String, prepared: Bool)
        if let known = rewritten[sql] {
            statement = known
        } else {
            let text = Self.rewrite(sql)
            statement = (text, !Self.takesArrays(text))
            rewritten[sql] = statement
        }
        do {
            return try connection.queryPrepared(statement.text, values.map(Self.value), prepared: statement.prepared)
        } catch {
            noteFailure(connection)
            throw Self.unreachable(error)
        }
    }

    private func noteFailure(_ connection: PostgresConnection) {
        if inTransaction, connection.lastFailure?.isRetryable == true { mustRetry = true }
    }

    func transaction<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        // Transactions do not nest: inside one, `body` is part of it.
        if inTransaction { return try body() }
        var attempt = 0
        while true {
            do {
                return try attemptTransaction(body)
            } catch {
                guard mustRetry, attempt < Self.transactionRetries else { throw error }
                attempt += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.002) * Double(1 << min(attempt, 6)))
            }
        }
    }

    private func attemptTransaction<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        let connection = try live()
        mustRetry = false
        var begin = "BEGIN ISOLATION LEVEL SERIALIZABLE"
        if let fence {
            begin += """
                ; SELECT token FROM \(MetaElection.leaseTable)
                WHERE token = \(fence.token) AND holder = '\(fence.holder)' AND expires > clock_timestamp() FOR SHARE
                """
        }
        inTransaction = true
        defer { inTransaction = false }
        do throws(DFSError) {
            let rows = try connection.simpleQuery(begin)
            if let fence, rows.isEmpty {
                fence.lost()
                throw DFSError(.notActive, "this meta server lost its lease on the database; it is no longer the active one", transient: true)
            }
            let result = try body()
            if mustRetry {
                throw connection.lastFailure?.error ?? DFSError(.unavailable, "the transaction collided with another", transient: true)
            }
            _ = try connection.simpleQuery("COMMIT")
            return result
        } catch {
            noteFailure(connection)
            if !connection.isBroken { _ = try? connection.simpleQuery("ROLLBACK") }
            throw Self.unreachable(error)
        }
    }

    func reading<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        // The store's writes all go through this one connection, one at a time on its queue,
        // so the statements of a read see one state without a transaction around them.
        try body()
    }

    func savepoint<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        try execute("SAVEPOINT entry")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT entry")
            return result
        } catch {
            try execute("ROLLBACK TO SAVEPOINT entry; RELEASE SAVEPOINT entry")
            throw error
        }
    }

    /// True for a statement over arrays of values (`unnest`, `= ANY`): a batch's, run once a
    /// batch rather than once a file. Such a statement is planned at each run, with the
    /// arrays it is given and the tables' statistics of the moment. A prepared statement's
    /// plan is made once and kept: made while the tables were small (a new cluster's first
    /// batches), it scans them whole, and kept as they grow (measured: 45 ms a batch at 3,000
    /// files, where the index takes 0.1 ms).
    static func takesArrays(_ sql: String) -> Bool {
        sql.contains("[])")
    }

    /// The store's SQL with `?` and `?N` written as `$N` (outside quoted text), as SQLite
    /// numbers them: a bare `?` is one more than the largest number so far.
    static func rewrite(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 8)
        var largest = 0
        var quoted = false
        var characters = sql.unicodeScalars.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "'" { quoted.toggle() }
            guard character == "?", !quoted else {
                output.unicodeScalars.append(character)
                continue
            }
            var digits = ""
            while let next = pending, ("0"..."9").contains(next) {
                digits.unicodeScalars.append(next)
                pending = characters.next()
            }
            let number = Int(digits) ?? (largest + 1)
            largest = max(largest, number)
            output += "$\(number)"
        }
        return output
    }

    private static func value(_ value: SQLValue) -> PostgresValue {
        switch value {
        case .integer(let number): .int64(number)
        case .real(let number): .double(number)
        case .text(let text): .text(text)
        case .null: .null
        }
    }
}

/// A row of a PostgreSQL result read as the store reads SQLite's: integers from integer,
/// numeric or boolean text (`t` is 1), NULL as 0 or "".
struct PostgresMetaRow: MetaRow {
    let row: PostgresRow

    private func string(_ column: Int32) -> String? {
        row.textBytes(Int(column)).map { String(decoding: $0, as: UTF8.self) }
    }

    func int64(_ column: Int32) -> Int64 {
        guard let text = string(column) else { return 0 }
        if let number = Int64(text) { return number }
        switch text {
        case "t": return 1
        case "f": return 0
        default: return Double(text).map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 } ?? 0
        }
    }

    func int(_ column: Int32) -> Int { Int(int64(column)) }
    func double(_ column: Int32) -> Double { string(column).flatMap(Double.init) ?? 0 }
    func text(_ column: Int32) -> String { string(column) ?? "" }
    func isNull(_ column: Int32) -> Bool { row.textBytes(Int(column)) == nil }
}

/// What a meta server elected through PostgreSQL (``MetaElection``) writes with: the token
/// of its lease, which each writing transaction checks, and what to do once it finds the
/// lease lost.
struct MetaFence: Sendable {
    /// The lease's token when this server took it; a server that takes over gets a larger one.
    let token: Int64
    /// The server's identity in the lease row (``MetaElection/holder``). The token alone is
    /// not enough: a database that lost its latest commits (a failover to an asynchronous
    /// standby, a restore) hands the same token out again, to another server.
    let holder: String
    /// How long PostgreSQL lets a session of this server sit idle inside a transaction.
    let idleTransactionTimeout: Duration
    /// Called (on the store's queue) when a transaction finds the lease lost.
    let lost: @Sendable () -> Void

    init(token: Int64, holder: String, idleTransactionTimeout: Duration, lost: @escaping @Sendable () -> Void) {
        // The holder is written into the check's SQL as it is: a UUID, nothing to quote.
        precondition(UUID(uuidString: holder) != nil, "a lease holder is a UUID")
        self.token = token
        self.holder = holder
        self.idleTransactionTimeout = idleTransactionTimeout
        self.lost = lost
    }
}
