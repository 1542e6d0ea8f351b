import DFSCore

/// Session-level advisory locks: held by this connection until it unlocks them or ends.
///
/// A lock belongs to the server session, so it must be taken and released on one
/// connection that nobody else uses (``PostgresSession``), never on a pool's connection,
/// which the next job may get. When the connection is lost, the server releases the lock:
/// the holder learns it from the error of its next call.
extension PostgresConnection {
    /// Takes the lock `key` if no other session holds it (pg_try_advisory_lock); never
    /// waits. A session that holds it already takes it once more, and must release it as
    /// many times.
    public func tryAdvisoryLock(_ key: Int64) throws(DFSError) -> Bool {
        try singleBool("SELECT pg_try_advisory_lock($1)", key)
    }

    /// Releases the lock `key` once (pg_advisory_unlock); false when this session did not
    /// hold it.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws(DFSError) -> Bool {
        try singleBool("SELECT pg_advisory_unlock($1)", key)
    }

    private func singleBool(_ sql: String, _ key: Int64) throws(DFSError) -> Bool {
        let rows = try query(sql, [.int64(key)])
        guard rows.count == 1 else { throw DFSError(.internalError, "\(sql) returned \(rows.count) rows") }
        return try rows[0].bool(0)
    }
}
