import DFSCore

/// Keeps open connections per endpoint so that consecutive requests reuse them.
///
/// A connection is lent to one caller at a time and comes back only when that caller's work
/// ended cleanly; one that failed, or that the peer closed while idle, is discarded.
public actor ConnectionPool {
    private var idle: [Endpoint: [Connection]] = [:]
    public nonisolated let role: PeerRole
    public nonisolated let timeouts: Timeouts
    /// Proven to every server that asks, on each new connection.
    public nonisolated let secret: ClusterSecret?
    private let idleMax: Int

    public init(role: PeerRole, timeouts: Timeouts = .standard, secret: ClusterSecret? = nil, idleMax: Int = Limits.idleConnectionsPerEndpointMax) {
        self.role = role
        self.timeouts = timeouts
        self.secret = secret
        self.idleMax = idleMax
    }

    /// Runs `body` with a connection to `endpoint` that nobody else uses meanwhile. A new
    /// connection's hello must be answered within `handshake` (default: the pool's
    /// handshake timeout); data nodes are given their stall time, so a hung one is found
    /// in seconds.
    public nonisolated func withConnection<T: Sendable>(
        to endpoint: Endpoint, handshake: Duration? = nil, _ body: (Connection) async throws -> T
    ) async throws -> T {
        let (connection, _) = try await checkOut(endpoint, handshake: handshake)
        return try await use(connection, endpoint: endpoint, body)
    }

    /// Sends one request and returns its reply, on a pooled connection.
    ///
    /// A pooled connection may have been closed by the server a moment ago, before either
    /// side could tell; when such a connection fails, the request is sent once more on a new
    /// one, as HTTP clients do. The server most likely never saw the first attempt: it had
    /// closed. But a server that died after taking the request looks the same, so a caller
    /// that retries by itself and must know whether a request may have been sent twice
    /// passes `resendOnStale` false and sees the failure instead.
    public nonisolated func request<Request: Message, Reply: Message>(
        _ request: Request, to endpoint: Endpoint, expecting: Reply.Type, resendOnStale: Bool = true
    ) async throws -> Reply {
        // An error reply leaves the connection in step, so it goes back to the pool; only a
        // failure of the connection itself discards it.
        let send: (Connection) async throws -> Result<Reply, DFSError> = { connection in
            try await connection.requestResult(request, expecting: Reply.self, timeout: self.timeouts.request)
        }
        let (connection, reused) = try await checkOut(endpoint)
        do {
            return try await use(connection, endpoint: endpoint, send).get()
        } catch let error as DFSError where resendOnStale && reused && error.code == .connectionFailed {
            let fresh = try await Connection.open(to: endpoint, role: role, timeout: timeouts.connect, handshake: timeouts.handshake, secret: secret)
            return try await use(fresh, endpoint: endpoint, send).get()
        }
    }

    private nonisolated func use<T: Sendable>(
        _ connection: Connection, endpoint: Endpoint, _ body: (Connection) async throws -> T
    ) async throws -> T {
        do {
            let result = try await body(connection)
            await checkIn(connection, endpoint: endpoint)
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    private func checkOut(_ endpoint: Endpoint, handshake: Duration? = nil) async throws -> (Connection, reused: Bool) {
        while var list = idle[endpoint], let connection = list.popLast() {
            idle[endpoint] = list
            if await !connection.isStale() { return (connection, true) }
            await connection.close()
        }
        let connection = try await Connection.open(
            to: endpoint, role: role, timeout: min(timeouts.connect, handshake ?? timeouts.connect),
            handshake: handshake ?? timeouts.handshake, secret: secret)
        return (connection, false)
    }

    private func checkIn(_ connection: Connection, endpoint: Endpoint) async {
        let stale = await connection.isStale()
        // Read the list only after the await: other check-ins and check-outs may have run.
        guard !stale, idle[endpoint, default: []].count < idleMax else {
            await connection.close()
            return
        }
        idle[endpoint, default: []].append(connection)
    }

    /// Closes every idle connection.
    public func closeAll() async {
        let all = idle.values.flatMap { $0 }
        idle = [:]
        for connection in all { await connection.close() }
    }
}
