import DFSCore
import DFSPostgres
import DFSSystem
import Foundation

/// A streaming-replication standby of a test server, for tests of a database failover: a
/// copy taken with `pg_basebackup -R` into a folder of its own, started on its own port,
/// that follows the primary until ``promote()`` makes it a primary itself.
///
/// ```swift
/// try await PostgresTestServer.with { primary in
///     try await primary.withStandby(synchronous: true) { standby in
///         await primary.kill()
///         try await standby.promote()
///     }
/// }
/// ```
extension PostgresTestServer {
    /// Starts a standby of this server, runs `body` with it, and stops it whatever happens
    /// (its folder is kept, and its path printed, when `body` throws).
    ///
    /// With `synchronous`, the primary is set to wait for the standby
    /// (`synchronous_standby_names = '*'`) before `body` runs: a COMMIT returns only once
    /// the standby has its WAL on disk, so nothing a client was told is lost when the
    /// standby is promoted. The setting stays with the primary alone, so that the standby,
    /// once promoted, does not wait for a standby of its own that does not exist.
    public func withStandby<T>(synchronous: Bool, _ body: (PostgresTestServer) async throws -> T) async throws -> T {
        let standby = try await startStandby()
        do {
            if synchronous { try await waitForSynchronousStandby() }
            let result = try await body(standby)
            await standby.stop()
            return result
        } catch {
            await standby.stop(keepingFolder: true)
            print("PostgreSQL standby folder kept for inspection: \(standby.folder) (log: \(standby.logPath))")
            throw error
        }
    }

    /// Copies this server's cluster (`pg_basebackup -R`: the copy starts as a standby that
    /// streams from this server) into a new folder and starts it on a free port.
    public func startStandby() async throws -> PostgresTestServer {
        let folder = try Self.makeFolder()
        do {
            // -c fast: the copy starts at once rather than at the next checkpoint; -N: a test's
            // copy need not be flushed to disk.
            try await Self.runServerProgram(
                binFolder + "/pg_basebackup",
                ["-h", "127.0.0.1", "-p", String(port), "-U", Self.userName, "-D", folder + "/data", "-R", "-X", "stream", "-c", "fast", "-N"])
            return try await Self.startOnFreePort(folder: folder, binFolder: binFolder)
        } catch {
            print("PostgreSQL standby folder kept for inspection: \(folder)")
            throw error
        }
    }

    /// Makes every later COMMIT on this server wait until a standby has flushed its WAL,
    /// and returns once a standby is connected as synchronous (`pg_stat_replication`).
    public func waitForSynchronousStandby(timeout: Duration = .seconds(30)) async throws {
        let uri = uri
        try await BlockingIO.run {
            let connection = try PostgresConnection(uri: uri)
            defer { connection.close() }
            // One statement per call: ALTER SYSTEM refuses to run inside a transaction block,
            // which several statements in one simple query make.
            _ = try connection.simpleQuery("ALTER SYSTEM SET synchronous_standby_names = '*'")
            _ = try connection.simpleQuery("SELECT pg_reload_conf()")
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let states = try await BlockingIO.run {
                let connection = try PostgresConnection(uri: uri)
                defer { connection.close() }
                return try connection.query("SELECT sync_state FROM pg_stat_replication").map { try $0.text(0) }
            }
            if states.contains("sync") { return }
            guard ContinuousClock.now < deadline else {
                throw DFSError(.timeout, "no synchronous standby within \(timeout) (replication states: \(states)); log: \(logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// `pg_ctl promote -w`: the standby stops following its primary and returns once it
    /// accepts writes.
    public func promote() async throws {
        try await Self.runServerProgram(binFolder + "/pg_ctl", ["promote", "-w", "-t", "30", "-s", "-D", dataFolder])
    }
}
