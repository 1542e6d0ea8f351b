import DFSCore

/// Keeps open connections per endpoint so that consecutive requests reuse them.
///
/// A connection is lent to one caller at a time and comes back only when that caller's work
/// ended cleanly; one that failed, or that the peer closed while idle, is discarded. The
/// idle lists sit behind a lock, not in an actor: taking and returning a connection costs no
/// hop between threads, and a request's own checks (is the connection still good, before
/// and after) run inside the one call to the connection that sends it and reads its reply.
public final class ConnectionPool: Sendable {
    private let idle = Mutex<[Endpoint: [Connection]]>([:])
    public let role: PeerRole
    public let timeouts: Timeouts
    /// Proven to every server that asks, on each new connection.
    public let secret: ClusterSecret?
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
    public func withConnection<T: Sendable>(
        to endpoint: Endpoint, handshake: Duration? = nil, _ body: (Connection) async throws -> T
    ) async throws -> T {
        var connection: Connection?
        while let pooled = takeIdle(endpoint) {
            if await !pooled.isStale() {
                connection = pooled
                break
            }
            await pooled.close()
        }
        let lent: Connection
        if let connection {
            lent = connection
        } else {
            lent = try await open(endpoint, handshake: handshake)
        }
        do {
            let result = try await body(lent)
            await giveBack(lent, endpoint: endpoint, reusable: !lent.isStale())
            return result
        } catch {
            await lent.close()
            throw error
        }
    }

    /// Sends one request and returns its reply, on a pooled connection.
    ///
    /// A pooled connection may have been closed by the server a moment ago, before either
    /// side could tell; when such a connection fails, the request is sent once more on a new
    /// one, as HTTP clients do. The server most likely never saw the first attempt: it had
    /// closed. But a server that died after taking the request looks the same, so a caller
    /// that retries by itself and must know whether a request may have been sent twice
    /// passes `resendOnStale` false and sees the failure instead.
    public func request<Request: Message, Reply: Message>(
        _ request: Request, to endpoint: Endpoint, expecting: Reply.Type, resendOnStale: Bool = true
    ) async throws -> Reply {
        while let pooled = takeIdle(endpoint) {
            let exchanged: (result: Result<Reply, DFSError>, reusable: Bool)?
            do {
                exchanged = try await pooled.exchange(request, expecting: Reply.self, timeout: timeouts.request, unlessStale: true)
            } catch let error as DFSError where resendOnStale && error.code == .connectionFailed {
                await pooled.close()
                break
            } catch {
                await pooled.close()
                throw error
            }
            // Stale before anything was sent: try the next idle connection.
            guard let exchanged else {
                await pooled.close()
                continue
            }
            await giveBack(pooled, endpoint: endpoint, reusable: exchanged.reusable)
            return try exchanged.result.get()
        }
        let fresh = try await open(endpoint, handshake: nil)
        do {
            let exchanged = try await fresh.exchange(request, expecting: Reply.self, timeout: timeouts.request, unlessStale: false)!
            await giveBack(fresh, endpoint: endpoint, reusable: exchanged.reusable)
            return try exchanged.result.get()
        } catch {
            await fresh.close()
            throw error
        }
    }

    /// Closes every idle connection.
    public func closeAll() async {
        let all = idle.withLock { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for connection in all { await connection.close() }
    }

    private func takeIdle(_ endpoint: Endpoint) -> Connection? {
        idle.withLock { $0[endpoint]?.popLast() }
    }

    private func open(_ endpoint: Endpoint, handshake: Duration?) async throws -> Connection {
        try await Connection.open(
            to: endpoint, role: role, timeout: min(timeouts.connect, handshake ?? timeouts.connect),
            handshake: handshake ?? timeouts.handshake, secret: secret)
    }

    /// Returns a connection after use: to the idle list when it is still good and the list
    /// has room, else closed.
    private func giveBack(_ connection: Connection, endpoint: Endpoint, reusable: Bool) async {
        let kept =
            reusable
            && idle.withLock { idle in
                guard idle[endpoint, default: []].count < idleMax else { return false }
                idle[endpoint, default: []].append(connection)
                return true
            }
        if !kept { await connection.close() }
    }
}
