import DFSCore
import DFSPostgres
import Foundation

/// Which of the meta servers that share one PostgreSQL database is active: the one that
/// holds the lease, a row in the database with a token and an expiry in the database's
/// clock.
///
/// - A server takes the lease only once it has expired (or was handed back), and taking it
///   raises the token. It keeps it by renewing it well before it expires; a server that
///   dies stops renewing, and another takes over once the lease runs out.
/// - Every transaction that the active server's store writes checks, inside itself and
///   holding the row, that its token and holder are still the lease's and it has not expired
///   (``MetaFence``). So a server that was stopped or cut off past its lease can write
///   nothing once it wakes, and no two servers ever write as the active one.
/// - Every server also notes itself in a table of meta servers, for `dfs status`.
///
/// The election's statements run on a connection of their own (a pool of one, on the
/// blocking-I/O threads), apart from the store's.
final class MetaElection: Sendable {
    static let leaseTable = "dfs_meta_lease"
    static let serversTable = "dfs_meta_servers"
    /// The advisory lock that servers creating or migrating the schema take turns on.
    static let migrationLockKey: Int64 = 0x6466_735F_6D65_7461

    /// This server in the tables: a new identity per process, so that a server restarted
    /// at the same address never mistakes its predecessor's lease for its own.
    let holder = UUID().uuidString
    /// The address clients and nodes reach this server at.
    let address: Endpoint
    /// How long a lease lasts from its last renewal.
    let leaseDuration: Duration
    private let pool: PostgresPool
    let redactedURI: String

    init(uri: String, address: Endpoint, leaseDuration: Duration) throws(DFSError) {
        self.address = address
        self.leaseDuration = leaseDuration
        redactedURI = PostgresURI.redacted(uri)
        var options = PostgresPool.Options()
        options.connectionsMax = 1
        options.connection.applicationName = "dfs meta election"
        pool = try PostgresPool(uri: uri, options: options)
    }

    private var seconds: Double { leaseDuration.inSeconds }

    /// Creates the election's tables if they are missing.
    func prepare() async throws {
        try await pool.withConnection { connection in
            try connection.transaction(isolation: .readCommitted) { connection in
                _ = try connection.simpleQuery(
                    """
                    SELECT pg_advisory_xact_lock(\(MetaElection.migrationLockKey));
                    CREATE TABLE IF NOT EXISTS \(MetaElection.leaseTable)(
                        id INTEGER PRIMARY KEY CHECK(id = 0), token BIGINT NOT NULL, holder TEXT NOT NULL,
                        address TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL);
                    INSERT INTO \(MetaElection.leaseTable) VALUES(0, 0, '', '', '-infinity') ON CONFLICT DO NOTHING;
                    CREATE TABLE IF NOT EXISTS \(MetaElection.serversTable)(
                        holder TEXT PRIMARY KEY, address TEXT NOT NULL, seen TIMESTAMPTZ NOT NULL);
                    """)
            }
            // A takeover waits for the active server's transaction that holds the lease row,
            // but not for ever: PostgreSQL ends that transaction if it sits idle.
            _ = try connection.simpleQuery("SET lock_timeout = '5s'")
        }
    }

    /// Takes the lease if it has expired; returns the new token, or nil when another server
    /// holds it.
    func tryAcquire() async throws -> Int64? {
        let (holder, address, seconds) = (holder, address.description, seconds)
        return try await pool.withConnection { connection in
            let rows = try connection.query(
                """
                UPDATE \(MetaElection.leaseTable)
                SET token = token + 1, holder = $1, address = $2, expires = clock_timestamp() + $3 * interval '1 second'
                WHERE id = 0 AND expires <= clock_timestamp() RETURNING token
                """, [.text(holder), .text(address), .double(seconds)])
            return try rows.first?.int64(0)
        }
    }

    /// Extends the lease `token` names; false when it is no longer this server's (it expired
    /// and was taken, or was handed back). The holder is checked with the token: a database
    /// that lost its latest commits may have handed the same token to another server.
    func renew(token: Int64) async throws -> Bool {
        let (holder, seconds) = (holder, seconds)
        return try await pool.withConnection { connection in
            try connection.execute(
                """
                UPDATE \(MetaElection.leaseTable) SET expires = clock_timestamp() + $2 * interval '1 second'
                WHERE id = 0 AND token = $1 AND holder = $3 AND expires > clock_timestamp()
                """, [.int64(token), .double(seconds), .text(holder)]) == 1
        }
    }

    /// Hands the lease back (a server that stops): a standby takes over at its next look,
    /// without waiting for the lease to run out.
    func release(token: Int64) async throws {
        let holder = holder
        try await pool.withConnection { connection in
            _ = try connection.execute(
                "UPDATE \(MetaElection.leaseTable) SET expires = '-infinity' WHERE id = 0 AND token = $1 AND holder = $2",
                [.int64(token), .text(holder)])
            _ = try connection.execute("DELETE FROM \(MetaElection.serversTable) WHERE holder = $1", [.text(holder)])
        }
    }

    /// The active server's address, when a lease is in force.
    func activeAddress() async throws -> Endpoint? {
        try await pool.withConnection { connection in
            let rows = try connection.query(
                "SELECT address FROM \(MetaElection.leaseTable) WHERE id = 0 AND expires > clock_timestamp() AND address <> ''")
            guard let text = try rows.first?.text(0) else { return nil }
            return try Endpoint(parsing: text)
        }
    }

    /// Notes that this server is alive, for the list `dfs status` shows.
    func noteAlive() async throws {
        let (holder, address) = (holder, address.description)
        try await pool.withConnection { connection in
            _ = try connection.execute(
                """
                INSERT INTO \(MetaElection.serversTable)(holder, address, seen) VALUES($1, $2, clock_timestamp())
                ON CONFLICT(holder) DO UPDATE SET address = excluded.address, seen = excluded.seen
                """, [.text(holder), .text(address)])
        }
    }

    /// The meta servers seen within `within`, and which holds the lease; servers gone
    /// longer than a day are forgotten.
    func servers(within: Duration) async throws -> [MetaServerInfo] {
        let seconds = within.inSeconds
        return try await pool.withConnection { connection in
            _ = try connection.execute("DELETE FROM \(MetaElection.serversTable) WHERE seen < clock_timestamp() - interval '1 day'")
            let rows = try connection.query(
                """
                SELECT servers.address, servers.holder = lease.holder AND lease.expires > clock_timestamp(),
                    extract(epoch FROM clock_timestamp() - servers.seen)::float8
                FROM \(MetaElection.serversTable) AS servers CROSS JOIN \(MetaElection.leaseTable) AS lease
                WHERE lease.id = 0 AND servers.seen > clock_timestamp() - $1 * interval '1 second'
                ORDER BY servers.address
                """, [.double(seconds)])
            return try rows.map { row in
                MetaServerInfo(address: try row.text(0), active: try row.bool(1), lastSeenAge: try row.double(2))
            }
        }
    }

    func close() async { await pool.close() }
}
