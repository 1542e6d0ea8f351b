import CLibPQ
import DFSCore

/// The columns of a result: names and types, shared by all its rows.
public final class PostgresColumns: Sendable {
    public let names: [String]
    let types: [Oid]
    private let indexes: [String: Int]

    init(names: [String], types: [Oid]) {
        self.names = names
        self.types = types
        // The first of two columns with one name wins, as in PQfnumber.
        var indexes: [String: Int] = [:]
        for (index, name) in names.enumerated() where indexes[name] == nil { indexes[name] = index }
        self.indexes = indexes
    }

    public var count: Int { names.count }

    /// The index of the column called `name`.
    public func index(of name: String) throws(DFSError) -> Int {
        guard let index = indexes[name] else {
            throw DFSError(.internalError, "result has no column \"\(name)\" (columns: \(names.joined(separator: ", ")))")
        }
        return index
    }
}

/// One row of a query's result, its values kept in PostgreSQL's text format until an
/// accessor reads them.
///
/// Accessors check the column's type: `int64` on a text column, or any typed read of a
/// NULL, throws a ``DFSError`` that names the column and both types, rather than guessing.
/// Read a column that may be NULL with ``isNull(_:)`` first, or with ``value(_:)``.
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    /// Each column's bytes in the text format; nil for NULL.
    let fields: [[UInt8]?]

    init(columns: PostgresColumns, fields: [[UInt8]?]) {
        self.columns = columns
        self.fields = fields
    }

    /// The column's bytes in PostgreSQL's text format, nil for NULL, without a check of its
    /// type (for readers that convert values themselves); `column` must be in range.
    public func textBytes(_ column: Int) -> [UInt8]? { fields[column] }

    public func isNull(_ column: Int) throws(DFSError) -> Bool {
        try checked(column)
        return fields[column] == nil
    }

    public func int64(_ column: Int) throws(DFSError) -> Int64 {
        let text = try field(column, expecting: PostgresTypeOID.integers, "int64")
        guard let number = Int64(text) else { throw mismatch(column, "int64", reason: "\"\(text)\" is not a 64-bit integer") }
        return number
    }

    public func int(_ column: Int) throws(DFSError) -> Int {
        let number = try int64(column)
        guard let value = Int(exactly: number) else { throw mismatch(column, "Int", reason: "\(number) does not fit") }
        return value
    }

    public func double(_ column: Int) throws(DFSError) -> Double {
        let text = try field(column, expecting: PostgresTypeOID.floats, "double")
        guard let number = PostgresText.double(text) else { throw mismatch(column, "double", reason: "\"\(text)\" is not a number") }
        return number
    }

    public func bool(_ column: Int) throws(DFSError) -> Bool {
        let text = try field(column, expecting: [PostgresTypeOID.bool], "bool")
        switch text {
        case "t": return true
        case "f": return false
        default: throw mismatch(column, "bool", reason: "\"\(text)\" is not t or f")
        }
    }

    public func text(_ column: Int) throws(DFSError) -> String {
        try field(column, expecting: PostgresTypeOID.texts, "text")
    }

    public func bytes(_ column: Int) throws(DFSError) -> [UInt8] {
        try checkedType(column, expecting: [PostgresTypeOID.bytea], "bytes")
        guard let raw = fields[column] else { throw mismatch(column, "bytes", reason: "the value is NULL") }
        guard let bytes = PostgresText.bytea(raw) else {
            throw mismatch(column, "bytes", reason: "the value is not in bytea's hex format (is bytea_output set to escape?)")
        }
        return bytes
    }

    /// The column's value as the ``PostgresValue`` its type maps to; a type this client
    /// does not know comes back as its text.
    public func value(_ column: Int) throws(DFSError) -> PostgresValue {
        try checked(column)
        guard fields[column] != nil else { return .null }
        let type = columns.types[column]
        if PostgresTypeOID.integers.contains(type) { return .int64(try int64(column)) }
        if PostgresTypeOID.floats.contains(type) { return .double(try double(column)) }
        if type == PostgresTypeOID.bool { return .bool(try bool(column)) }
        if type == PostgresTypeOID.bytea { return .bytes(try bytes(column)) }
        return .text(String(decoding: fields[column]!, as: UTF8.self))
    }

    // Accessors by column name.
    public func isNull(_ name: String) throws(DFSError) -> Bool { try isNull(columns.index(of: name)) }
    public func int64(_ name: String) throws(DFSError) -> Int64 { try int64(columns.index(of: name)) }
    public func int(_ name: String) throws(DFSError) -> Int { try int(columns.index(of: name)) }
    public func double(_ name: String) throws(DFSError) -> Double { try double(columns.index(of: name)) }
    public func bool(_ name: String) throws(DFSError) -> Bool { try bool(columns.index(of: name)) }
    public func text(_ name: String) throws(DFSError) -> String { try text(columns.index(of: name)) }
    public func bytes(_ name: String) throws(DFSError) -> [UInt8] { try bytes(columns.index(of: name)) }
    public func value(_ name: String) throws(DFSError) -> PostgresValue { try value(columns.index(of: name)) }

    private func checked(_ column: Int) throws(DFSError) {
        guard column >= 0 && column < fields.count else {
            throw DFSError(.internalError, "result has no column \(column) (it has \(fields.count))")
        }
    }

    private func checkedType(_ column: Int, expecting types: Set<Oid>, _ wanted: String) throws(DFSError) {
        try checked(column)
        guard types.contains(columns.types[column]) else {
            throw mismatch(column, wanted, reason: "the column is \(PostgresTypeOID.name(of: columns.types[column]))")
        }
    }

    /// The column's text, after checking its type and that it is not NULL.
    private func field(_ column: Int, expecting types: Set<Oid>, _ wanted: String) throws(DFSError) -> String {
        try checkedType(column, expecting: types, wanted)
        guard let raw = fields[column] else { throw mismatch(column, wanted, reason: "the value is NULL") }
        return String(decoding: raw, as: UTF8.self)
    }

    private func mismatch(_ column: Int, _ wanted: String, reason: String) -> DFSError {
        DFSError(.internalError, "cannot read column \(column) (\(columns.names[column])) as \(wanted): \(reason)")
    }
}
