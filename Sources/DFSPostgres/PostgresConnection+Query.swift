import CLibPQ
import DFSCore

extension PostgresConnection {
    /// Runs one statement with `parameters` bound to `$1`, `$2`, ... (PQsendQueryParams) and
    /// returns its rows. More rows or bytes than ``PostgresLimits`` allow throw
    /// ``DFSError/Code/tooLarge``: the query is cancelled on the server, and the rows already
    /// read are dropped.
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) throws(DFSError) -> [PostgresRow] {
        try run(sql, parameters: parameters, keepingRows: true).rows
    }

    /// Runs SQL that returns no rows and gives the number of rows the last statement
    /// changed. Without parameters, `sql` may hold several statements separated by
    /// semicolons (PQsendQuery); with them, one statement (PQsendQueryParams).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) throws(DFSError) -> Int {
        try run(sql, parameters: parameters.isEmpty ? nil : parameters, keepingRows: false).changedRows
    }

    /// Runs SQL without parameters, which may hold several statements separated by
    /// semicolons (PQsendQuery), and returns the rows they return, in order: one round trip
    /// for a transaction's BEGIN and its first query, say.
    public func simpleQuery(_ sql: String) throws(DFSError) -> [PostgresRow] {
        try run(sql, parameters: nil, keepingRows: true).rows
    }

    /// Runs one statement as ``query(_:_:)`` does, through a prepared statement that this
    /// connection makes on the statement's first use (PQprepare) and reuses after
    /// (PQsendQueryPrepared): the server parses and plans it once. The parameters' types
    /// are those of the first call's values (a NULL leaves its type to the server).
    /// With `prepared` false, the statement is parsed and planned at this call, as
    /// ``query(_:_:)`` does, and its rows and count returned the same way.
    public func queryPrepared(
        _ sql: String, _ parameters: [PostgresValue], prepared: Bool = true
    ) throws(DFSError) -> (rows: [PostgresRow], changedRows: Int) {
        try run(sql, parameters: parameters, keepingRows: true, prepared: prepared)
    }

    /// Statements prepared on this connection so far are at most this many; past it, new
    /// ones run unprepared.
    public static let preparedStatementsMax = 1024

    /// Makes the prepared statement for `sql`, or finds it made; nil past the limit.
    private func preparedName(_ sql: String, _ bound: PostgresParameters, _ handle: OpaquePointer) throws(DFSError) -> String? {
        if let name = preparedStatements[sql] { return name }
        guard preparedStatements.count < PostgresConnection.preparedStatementsMax else { return nil }
        let name = "dfs_\(preparedStatements.count)"
        let result = bound.types.withUnsafeBufferPointer { types in
            PQprepare(handle, name, sql, Int32(types.count), types.baseAddress)
        }
        defer { PQclear(result) }
        guard let result, PQresultStatus(result) == PGRES_COMMAND_OK else {
            updateBroken()
            let failure =
                result.map { ResultReader.failure(of: $0) }
                ?? PostgresFailure(sqlState: nil, message: "cannot prepare statement: \(String(cString: PQerrorMessage(handle)))")
            lastFailure = failure
            throw failure.error
        }
        preparedStatements[sql] = name
        return name
    }

    /// Sends `sql` and reads its results one row at a time (libpq's single-row mode), so
    /// that no more than the limits are ever held in memory.
    func run(
        _ sql: String, parameters: [PostgresValue]?, keepingRows: Bool, prepared: Bool = false
    ) throws(DFSError) -> (rows: [PostgresRow], changedRows: Int) {
        let handle = try liveHandle()
        let limits = options.limits
        guard sql.utf8.count <= limits.statementBytesMax else {
            throw DFSError(.tooLarge, "statement of \(sql.utf8.count) bytes exceeds the limit of \(limits.statementBytesMax) bytes")
        }
        guard !sql.utf8.contains(0) else { throw DFSError(.invalidArgument, "statement text contains a NUL character") }
        let bound = try parameters.map { values throws(DFSError) in try PostgresParameters(values, limits: limits) }
        lastFailure = nil
        let sent: Int32
        if let bound, prepared, let name = try preparedName(sql, bound, handle) {
            sent = bound.withPointers { _, values, lengths, formats in
                PQsendQueryPrepared(handle, name, Int32(bound.types.count), values, lengths, formats, PostgresParameters.textFormat)
            }
        } else if let bound {
            sent = bound.withPointers { types, values, lengths, formats in
                PQsendQueryParams(handle, sql, Int32(bound.types.count), types, values, lengths, formats, PostgresParameters.textFormat)
            }
        } else {
            sent = PQsendQuery(handle, sql)
        }
        guard sent != 0 else { throw failFromConnection(handle) }
        PQsetSingleRowMode(handle)

        var reader = ResultReader(limits: limits, keepingRows: keepingRows)
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if reader.read(result) == .cancelQuery { cancelRunningQuery(handle) }
        }
        updateBroken()
        if let breach = reader.breach { throw breach }
        // A connection that broke during the call says so, with the server's last word
        // (pg_terminate_backend's "terminating connection due to administrator command")
        // as the reason when there was one.
        if let failure = isBroken ? lostFailure(handle, reason: reader.failure?.message) : reader.failure {
            lastFailure = failure
            throw failure.error
        }
        return (reader.rows, reader.changedRows)
    }

    /// Asks the server to stop the statement this connection runs (PQcancel, over a
    /// connection of its own); the results still coming are read and dropped.
    private func cancelRunningQuery(_ handle: OpaquePointer) {
        guard let cancel = PQgetCancel(handle) else { return }
        defer { PQfreeCancel(cancel) }
        var message = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &message, Int32(message.count))
    }

    /// The failure of a call that did not get as far as a result: the connection is gone, or
    /// libpq refused the call.
    private func failFromConnection(_ handle: OpaquePointer) -> DFSError {
        updateBroken()
        let failure =
            isBroken
            ? lostFailure(handle)
            : PostgresFailure(sqlState: nil, message: "cannot send statement: \(String(cString: PQerrorMessage(handle)))")
        lastFailure = failure
        return failure.error
    }

    private func lostFailure(_ handle: OpaquePointer, reason: String? = nil) -> PostgresFailure {
        let reason = reason ?? String(cString: PQerrorMessage(handle))
        return PostgresFailure(sqlState: nil, message: "lost the connection to \(redactedURI): \(reason)")
    }
}

/// Reads the results of one call, row by row, within the limits.
private struct ResultReader {
    enum Step { case next, cancelQuery }

    let limits: PostgresLimits
    let keepingRows: Bool
    var rows: [PostgresRow] = []
    var changedRows = 0
    var columns: PostgresColumns?
    var rowCount = 0
    var byteCount = 0
    var breach: DFSError?
    var failure: PostgresFailure?

    init(limits: PostgresLimits, keepingRows: Bool) {
        self.limits = limits
        self.keepingRows = keepingRows
    }

    mutating func read(_ result: OpaquePointer) -> Step {
        switch PQresultStatus(result) {
        case PGRES_SINGLE_TUPLE:
            return readRow(result)
        case PGRES_TUPLES_OK:
            // The end of one statement's rows, which starts a fresh set for the next.
            columns = nil
        case PGRES_COMMAND_OK:
            changedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
        case PGRES_FATAL_ERROR:
            let failure = ResultReader.failure(of: result)
            // The cancel this reader asked for ends the query with query_canceled: that is
            // the breach, not a failure of its own.
            if breach != nil && failure.sqlState == "57014" { break }
            if self.failure == nil { self.failure = failure }
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            if failure == nil { failure = PostgresFailure(sqlState: nil, message: "COPY is not supported by this client") }
        default:
            break
        }
        return .next
    }

    private mutating func readRow(_ result: OpaquePointer) -> Step {
        guard breach == nil else { return .next }
        let fieldCount = Int(PQnfields(result))
        rowCount += 1
        for field in 0..<fieldCount { byteCount += Int(PQgetlength(result, 0, Int32(field))) }
        if rowCount > limits.rowsMax || byteCount > limits.resultBytesMax {
            breach = DFSError(
                .tooLarge,
                rowCount > limits.rowsMax
                    ? "query returned more than the limit of \(limits.rowsMax) rows"
                    : "query returned more than the limit of \(limits.resultBytesMax) bytes")
            rows = []
            return .cancelQuery
        }
        guard keepingRows else { return .next }
        let columns = self.columns ?? ResultReader.columns(of: result)
        self.columns = columns
        var fields: [[UInt8]?] = []
        fields.reserveCapacity(fieldCount)
        for field in 0..<Int32(fieldCount) {
            if PQgetisnull(result, 0, field) != 0 {
                fields.append(nil)
            } else {
                let length = Int(PQgetlength(result, 0, field))
                let start = UnsafeRawPointer(PQgetvalue(result, 0, field)!).assumingMemoryBound(to: UInt8.self)
                fields.append(Array(UnsafeBufferPointer(start: start, count: length)))
            }
        }
        rows.append(PostgresRow(columns: columns, fields: fields))
        return .next
    }

    private static func columns(of result: OpaquePointer) -> PostgresColumns {
        let count = PQnfields(result)
        return PostgresColumns(
            names: (0..<count).map { String(cString: PQfname(result, $0)) },
            types: (0..<count).map { PQftype(result, $0) })
    }

    /// The error fields of a failed result (PQresultErrorField with PostgreSQL's field
    /// codes: 'C' SQLSTATE, 'M' message, 'D' detail, 'H' hint).
    static func failure(of result: OpaquePointer) -> PostgresFailure {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let message = field("M") ?? String(cString: PQresultErrorMessage(result))
        return PostgresFailure(sqlState: field("C"), message: message, detail: field("D"), hint: field("H"))
    }
}
