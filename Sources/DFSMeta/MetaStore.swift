import DFSCore
import DFSNet
import DFSPostgres
import Foundation

/// The namespace, the node registry and block locations, in SQLite or PostgreSQL.
///
/// An actor on its own queue: database calls block (fsync on commit, a round trip to
/// PostgreSQL), and must not hold one of the cooperative pool's few threads. Every namespace
/// change is one transaction. The SQL engine sits behind ``MetaDatabase``.
///
/// Its requests are in extensions by topic: the node registry (`+Nodes`), writing files
/// (`+Write`, `+Lease`), reading the namespace (`+Read`), folders, moves and removals
/// (`+Namespace`), block reports and health (`+Health`, `+HealthIndex`, `+Verification`, `+PathCheck`),
/// backups (`+Backup`), bulk import for the benchmark (`+Import`) and the schema (`+Schema`).
public actor MetaStore {
    /// The store's queue; the meta service and the server's connections run on it too.
    nonisolated let executor: QueueExecutor
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let database: any MetaDatabase

    /// Opens the database at `path`, creating and migrating it: a SQLite file (":memory:"
    /// for tests), or a PostgreSQL database named by a `postgres://` or `postgresql://` URI.
    /// With PostgreSQL, `fence` is the lease of the meta server that writes (none for tests
    /// and tools that are the database's only user).
    public init(path: String, executor: QueueExecutor? = nil) throws(DFSError) {
        try self.init(path: path, executor: executor, fence: nil)
    }

    init(path: String, executor: QueueExecutor? = nil, fence: MetaFence?) throws(DFSError) {
        self.executor = executor ?? QueueExecutor(label: "dfs.meta-store")
        if PostgresURI.isPostgres(path) {
            let database = try PostgresMetaDatabase(uri: path, fence: fence)
            try PostgresMetaSchema.migrate(database)
            self.database = database
            sync = nil
            return
        }
        let database = try SQLiteDatabase(path: path)
        do {
            // A file that is not a database fails at its first statement; say so plainly.
            _ = try database.query("SELECT count(*) FROM sqlite_master") { $0.int(0) }
        } catch {
            throw DFSError(.ioError, "\(path) is not a dfs database (\(error.message))")
        }
        if path != ":memory:" {
            _ = try database.query("PRAGMA journal_mode=WAL") { $0.text(0) }
        }
        // NORMAL: commits append to the log without an fsync; `sync` makes them durable,
        // many at a time, before any reply tells a client about them.
        // recursive_triggers: a row that INSERT OR REPLACE deletes goes through the delete
        // triggers that keep block health (MetaSchema+Health), as any other deleted row does.
        try database.execute(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA recursive_triggers=ON; PRAGMA busy_timeout=\(Self.lockWaitMilliseconds)")
        try MetaSchema.migrate(database)
        if path != ":memory:" {
            let sync = CommitSync(databasePath: path)
            database.onCommit = { sync.noteCommit() }
            // Opening may have migrated the schema; the first reply makes that durable too.
            sync.noteCommit()
            self.sync = sync
        } else {
            sync = nil
        }
        self.database = database
    }

    /// Lookups waiting to go together (``lookUpTogether(_:)``), and whether a batch runs.
    var lookups = WaitingLookups()

    /// The SQLite database, for what only SQLite does (online backups); nil with PostgreSQL.
    var sqlite: SQLiteDatabase? { database as? SQLiteDatabase }

    /// How long a statement waits for a lock that another connection to the same file holds
    /// (SQLite's `busy_timeout`) before it fails. The server keeps one connection, so only
    /// another process opening the file can make it wait: long enough for a short look by
    /// such a process to end, short enough that a request fails rather than hangs.
    static let lockWaitMilliseconds = 5000

    /// Group commit; nil for a database in memory and for PostgreSQL, whose COMMIT returns
    /// once the transaction is durable.
    nonisolated let sync: CommitSync?

    /// Returns once every change committed so far is on disk. The server calls it before
    /// each reply, so nothing a client is told can be lost to a crash.
    public nonisolated func waitUntilDurable() async throws {
        try await sync?.waitUntilDurable()
    }

    /// True when nothing committed is waiting for the disk: a reply may go at once.
    public nonisolated var isDurable: Bool { sync?.isCaughtUp ?? true }

    public var schemaVersion: Int {
        get throws(DFSError) {
            if let database = database as? PostgresMetaDatabase { return try PostgresMetaSchema.version(database) }
            return try database.query("PRAGMA user_version") { $0.int(0) }.first ?? 0
        }
    }
}

/// The lookups of ``MetaStore/lookUpTogether(_:)`` waiting for the batch that runs.
struct WaitingLookups {
    /// Paths looked up in one statement at most (more when one request alone asks more).
    static let pathsPerStatement = Limits.pathsPerGetFilesMax
    var waiting: [(paths: [DFSPath], continuation: CheckedContinuation<[Result<(info: FileInfo, blocks: [BlockLocation]), DFSError>], any Error>)] = []
    var running = false
    /// The connection the lookups run on, once opened.
    var connection: LookupConnection?
}

/// A second connection to the store's PostgreSQL database, for lookups only, used on the
/// blocking-I/O threads by one batch at a time (``MetaStore/lookUpTogether(_:)`` runs one
/// batch at a time). It reads what is committed, which is all a client has been told of:
/// with PostgreSQL nothing is acknowledged before its COMMIT returns.
final class LookupConnection: @unchecked Sendable {
    private let database: PostgresMetaDatabase
    private let lock = Mutex(())

    init(database: PostgresMetaDatabase) { self.database = database }

    func run<T>(_ body: (any MetaDatabase) throws(DFSError) -> T) throws(DFSError) -> T {
        do {
            return try lock.withLock { _ in try body(database) }
        } catch {
            throw DFSError.wrap(error)
        }
    }
}
