import DFSCore

/// The connection's calls, each as one job of the pool.
extension PostgresPool {
    /// ``PostgresConnection/query(_:_:)`` on a connection of the pool.
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> [PostgresRow] {
        try await withConnection { try $0.query(sql, parameters) }
    }

    /// ``PostgresConnection/execute(_:_:)`` on a connection of the pool.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> Int {
        try await withConnection { try $0.execute(sql, parameters) }
    }

    /// ``PostgresConnection/transaction(isolation:retries:_:)`` on a connection of the pool:
    /// the retries happen inside one job, on one connection.
    public func transaction<T: Sendable>(
        isolation: PostgresIsolation = .serializable, retries: Int = 5, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { try $0.transaction(isolation: isolation, retries: retries, body) }
    }
}
