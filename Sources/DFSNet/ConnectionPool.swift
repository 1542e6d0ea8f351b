import DFSCore

/// Keeps open connections per endpoint so that consecutive requests reuse them.
///
/// A connection is lent to one caller at a time and comes back only when that caller's work
/// ended cleanly; one that failed, or that the peer closed while idle, is discarded.
public actor ConnectionPool {
    private var idle: [Endpoint: [Connection]] = [:]
    public nonisolated let role: PeerRole
    public nonisolated let timeouts: Timeouts
    private let idleMax: Int

    public init(role: PeerRole, timeouts: Timeouts = .standard, idleMax: Int = Limits.idleConnectionsPerEndpointMax) {
        self.role = role
        self.timeouts = timeouts
        self.idleMax = idleMax
    }

    /// Runs `body` with a connection to `endpoint` that nobody else uses meanwhile.
    public nonisolated func withConnection<T: Sendable>(
        to endpoint: Endpoint, _ body: (Connection) async throws -> T
    ) async throws -> T {
        let connection = try await checkOut(endpoint)
        do {
            let result = try await body(connection)
            await checkIn(connection, endpoint: endpoint)
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Sends one request and returns its reply, on a pooled connection.
    public nonisolated func request<Request: Message, Reply: Message>(
        _ request: Request, to endpoint: Endpoint, expecting: Reply.Type
    ) async throws -> Reply {
        // An error reply leaves the connection in step, so it goes back to the pool; only a
        // failure of the connection itself discards it.
        let result = try await withConnection(to: endpoint) { connection in
            try await connection.requestResult(request, expecting: Reply.self, timeout: timeouts.request)
        }
        return try result.get()
    }

    private func checkOut(_ endpoint: Endpoint) async throws -> Connection {
        while var list = idle[endpoint], let connection = list.popLast() {
            idle[endpoint] = list
            if await !connection.isStale() { return connection }
            await connection.close()
        }
        return try await Connection.open(to: endpoint, role: role, timeout: timeouts.connect)
    }

    private func checkIn(_ connection: Connection, endpoint: Endpoint) async {
        var list = idle[endpoint, default: []]
        guard list.count < idleMax, await !connection.isStale() else {
            await connection.close()
            return
        }
        list.append(connection)
        idle[endpoint] = list
    }

    /// Closes every idle connection.
    public func closeAll() async {
        let all = idle.values.flatMap { $0 }
        idle = [:]
        for connection in all { await connection.close() }
    }
}

