import DFSCore

/// The SQL engine under ``MetaStore``: SQLite in a file (``SQLiteDatabase``, the default) or
/// PostgreSQL (``PostgresMetaDatabase``, `serve-meta --db postgres://...`).
///
/// The store speaks one SQL to both. Statements bind values to `?` (in order) or `?N` (the
/// N-th value), which a PostgreSQL database rewrites to `$N`; the few places where the two
/// engines' SQL differs ask for ``dialect``. Calls block their thread and run on the store's
/// own queue, one at a time: an implementation need not be thread-safe.
protocol MetaDatabase: AnyObject {
    /// Which engine, for the statements that differ.
    var dialect: SQLDialect { get }
    /// Where the database is, for messages (a file path, or a URI with its password hidden).
    var path: String { get }

    /// Runs SQL that returns no rows and takes no values; it may hold several statements.
    func execute(_ sql: String) throws(DFSError)
    /// Runs a statement and maps each row it returns.
    func query<T>(_ sql: String, _ values: [SQLValue], row: (any MetaRow) -> T) throws(DFSError) -> [T]
    /// Runs a statement that returns no rows; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int

    /// Inserts one row and returns the id the database gave it.
    func insertReturningID(_ sql: String, _ values: [SQLValue]) throws(DFSError) -> Int64

    /// Runs `body` in one transaction that writes: committed when it returns, rolled back
    /// when it throws. It may run `body` again after a conflict with another writer
    /// (PostgreSQL's serialization failures), so `body` changes nothing but the database.
    func transaction<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T
    /// Runs `body`, which only reads, on one consistent view of the database.
    func reading<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T
    /// Runs `body` inside a transaction as a unit of its own: when it throws, what it changed
    /// is undone and the transaction goes on.
    func savepoint<T>(_ body: () throws(DFSError) -> T) throws(DFSError) -> T
}

extension MetaDatabase {
    func query<T>(_ sql: String, row: (any MetaRow) -> T) throws(DFSError) -> [T] {
        try query(sql, [], row: row)
    }

    @discardableResult
    func run(_ sql: String) throws(DFSError) -> Int { try run(sql, []) }
}

/// The two SQL engines, where their statements differ.
enum SQLDialect: Sendable {
    case sqlite, postgres

    /// The position of `needle` in `haystack` (1-based, 0 when absent).
    func position(of needle: String, in haystack: String) -> String {
        switch self {
        case .sqlite: "instr(\(haystack), \(needle))"
        case .postgres: "strpos(\(haystack), \(needle))"
        }
    }

    /// The condition that `list`, a JSON array of integers bound as text, holds `column`.
    func column(_ column: String, inJSONList list: String) -> String {
        switch self {
        case .sqlite: "\(column) IN (SELECT value FROM json_each(\(list)))"
        case .postgres: "\(column) IN (SELECT value::bigint FROM json_array_elements_text(\(list)::json))"
        }
    }

    /// The length of `text` in bytes of UTF-8.
    func byteLength(_ text: String) -> String {
        switch self {
        case .sqlite: "length(CAST(\(text) AS BLOB))"
        case .postgres: "octet_length(\(text))"
        }
    }

    /// The condition that `text` holds a control character (U+0001 to U+001F or U+007F).
    func holdsControlCharacter(_ text: String) -> String {
        switch self {
        case .sqlite: "\(text) GLOB '*[' || char(1) || '-' || char(31) || char(127) || ']*'"
        case .postgres: "\(text) ~ '[\\x01-\\x1f\\x7f]'"
        }
    }
}

/// A value bound to a statement.
enum SQLValue {
    case integer(Int64)
    case real(Double)
    case text(String)
    case null
}

extension SQLValue {
    static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
}

/// The current row of a query, read column by column (0-based). A NULL reads as 0 or "".
protocol MetaRow {
    func int(_ column: Int32) -> Int
    func int64(_ column: Int32) -> Int64
    func double(_ column: Int32) -> Double
    func text(_ column: Int32) -> String
    func isNull(_ column: Int32) -> Bool
}
