import CSQLite
import DFSCore

/// A thin wrapper over one SQLite connection: statements are prepared once and reused.
///
/// Not thread-safe, on purpose: ``MetaStore`` owns it and runs every call on its own queue.
final class SQLiteDatabase: MetaDatabase {
    private(set) var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    let path: String
    var dialect: SQLDialect { .sqlite }
    /// Called after each commit that may have changed the database: a transaction's COMMIT,
    /// or a writing statement run outside one.
    var onCommit: (() -> Void)?

    init(path: String) throws(DFSError) {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            handle = nil
            throw DFSError(.ioError, "cannot open database at \(path): \(message)")
        }
    }

    deinit {
        statements.values.forEach { $0.finalize() }
        sqlite3_close(handle)
    }

    func error(_ what: String) -> DFSError {
        DFSError(.ioError, "database \(path): \(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// Runs SQL that returns no rows (one or several statements).
    func execute(_ sql: String) throws(DFSError) {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw error("cannot run \(sql.prefix(60))") }
        if sqlite3_get_autocommit(handle) != 0 { onCommit?() }
    }

    /// The cached prepared statement for `sql`, reset and ready to bind.
    func statement(_ sql: String) throws(DFSError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &raw, nil) == SQLITE_OK, let raw else {
            throw error("cannot prepare \(sql.prefix(60))")
        }
        let statement = SQLiteStatement(raw: raw, database: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body`, which only reads, in one read transaction: one snapshot and one lock for
    /// all its statements, where each statement on its own would take and drop the lock
    /// (two `fcntl` calls and the log's index checked) every time. Inside a transaction
    /// already, `body` simply runs in it.
    func reading<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        if sqlite3_get_autocommit(handle) == 0 { return try body() }
        try run("BEGIN")
        do {
            let result = try body()
            try run("COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a transaction as a unit of its own: when it throws, what it changed
    /// is undone and the transaction goes on (a batch whose entries fail one by one).
    func savepoint<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T {
        try execute("SAVEPOINT entry")
        do {
            let result = try body()
            try execute("RELEASE entry")
            return result
        } catch {
            try execute("ROLLBACK TO entry")
            try execute("RELEASE entry")
            throw error
        }
    }

    /// A writing statement outside a transaction commits on its own.
    private func noteIfCommitted(_ statement: SQLiteStatement) {
        if !statement.isReadOnly && sqlite3_get_autocommit(handle) != 0 { onCommit?() }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    func insertReturningID(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int64 {
        try run(sql, values)
        return sqlite3_last_insert_rowid(handle)
    }

    /// Runs a query and maps each row.
    func query<T>(_ sql: String, _ values: [SQLValue], row: (any MetaRow) -> T) throws(DFSError) -> [T] {
        let statement = try self.statement(sql)
        try statement.bind(values)
        var rows: [T] = []
        while try statement.step() { rows.append(row(statement)) }
        noteIfCommitted(statement)
        return rows
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int {
        let statement = try self.statement(sql)
        try statement.bind(values)
        while try statement.step() {}
        noteIfCommitted(statement)
        return changes
    }
}

final class SQLiteStatement: MetaRow {
    private let raw: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    func finalize() { sqlite3_finalize(raw) }
    var isReadOnly: Bool { sqlite3_stmt_readonly(raw) != 0 }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func bind(_ values: [SQLValue]) throws(DFSError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number): status = sqlite3_bind_int64(raw, index, number)
            case .real(let number): status = sqlite3_bind_double(raw, index, number)
            case .text(let text): status = sqlite3_bind_text(raw, index, text, -1, dfs_sqlite_transient())
            case .null: status = sqlite3_bind_null(raw, index)
            }
            guard status == SQLITE_OK else { throw database.error("cannot bind value \(index)") }
        }
    }

    /// Advances to the next row; false when there is none.
    func step() throws(DFSError) -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error("statement failed")
        }
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(raw, column) else { return "" }
        return String(cString: pointer)
    }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
}
