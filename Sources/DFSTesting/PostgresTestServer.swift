import DFSCore
import DFSSystem
import Foundation

/// A throwaway PostgreSQL server for a test: its own cluster in a temp folder, on a free
/// loopback port, trusting every local connection.
///
/// Use ``with(_:)``, which stops the server and removes its folder on every path, also when
/// the body throws (the folder is kept then, its path printed, with the server's log):
///
/// ```swift
/// try await PostgresTestServer.with { server in
///     let pool = try PostgresPool(uri: server.uri)
///     ...
/// }
/// ```
///
/// PostgreSQL's server programs refuse to run as root: a root test run starts them as the
/// `postgres` user (`runuser -u postgres --`), in a folder that user owns; any other user
/// runs them as itself. A test run that was killed leaves a server behind; the next
/// ``start()`` stops it and removes its folder (``sweepAbandoned()``).
public final class PostgresTestServer: @unchecked Sendable {
    public static let databaseName = "dfs_test"
    /// The database superuser, whatever the operating-system user.
    public static let userName = "postgres"

    /// The server's folder: `data` (the cluster), `postgres.log`, the Unix socket, `owner`.
    public let folder: String
    public let port: Int
    let binFolder: String
    /// How many connections the server takes at once (`max_connections`).
    let maxConnections: Int
    /// The postmaster's process id while it runs, from `postmaster.pid`.
    public private(set) var postmasterPID: Int32?

    /// The test database, as a client connects to it.
    public var uri: String { "postgres://\(Self.userName)@127.0.0.1:\(port)/\(Self.databaseName)" }
    var dataFolder: String { folder + "/data" }
    var logPath: String { folder + "/postgres.log" }

    init(folder: String, port: Int, binFolder: String, maxConnections: Int = 50) {
        self.folder = folder
        self.port = port
        self.binFolder = binFolder
        self.maxConnections = maxConnections
    }

    /// Starts a server, runs `body` with it, and stops it whatever happens.
    public static func with<T>(_ body: (PostgresTestServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop(keepingFolder: true)
            print("PostgreSQL test server folder kept for inspection: \(server.folder) (log: \(server.logPath))")
            throw error
        }
    }

    /// Creates a cluster, starts it and creates the test database: about a second or two.
    /// It takes `maxConnections` connections at once.
    public static func start(maxConnections: Int = 50) async throws -> PostgresTestServer {
        guard let binFolder = PostgresTestServer.binFolder else { throw missingBinariesError }
        sweepAbandoned()
        let folder = try makeFolder()
        var server: PostgresTestServer?
        do {
            try await runServerProgram(
                binFolder + "/initdb",
                ["-D", folder + "/data", "-A", "trust", "-U", userName, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            server = try await startOnFreePort(folder: folder, binFolder: binFolder, maxConnections: maxConnections)
            try await runClientProgram(
                binFolder + "/createdb", ["-h", "127.0.0.1", "-p", String(server!.port), "-U", userName, databaseName])
            return server!
        } catch {
            if let server { await server.stop(keepingFolder: true) }
            print("PostgreSQL test server folder kept for inspection: \(folder)")
            throw error
        }
    }

    /// Starts the cluster in `folder` on a free loopback port. The port is free when
    /// reserved, and is released just before the server binds it: another program may take
    /// it in between, so a failed bind picks another.
    static func startOnFreePort(folder: String, binFolder: String, maxConnections: Int = 50) async throws -> PostgresTestServer {
        for attempt in 1...3 {
            let reserved = try ReservedPort()
            let candidate = PostgresTestServer(folder: folder, port: reserved.port, binFolder: binFolder, maxConnections: maxConnections)
            reserved.release()
            do {
                try await candidate.startServer()
                return candidate
            } catch {
                let log = candidate.logTail()
                guard attempt < 3, log.contains("could not bind") || log.contains("Address already in use") else { throw error }
            }
        }
        preconditionFailure("unreachable: the third attempt returns or throws")
    }

    /// `pg_ctl start -w`: returns once the server accepts connections.
    func startServer() async throws {
        let settings = [
            "-c listen_addresses=127.0.0.1", "-p \(port)", "-k '\(folder)'", "-c fsync=on", "-c shared_buffers=16MB",
            "-c max_connections=\(maxConnections)",
        ]
        do {
            try await Self.runServerProgram(
                binFolder + "/pg_ctl", ["start", "-w", "-t", "30", "-s", "-D", dataFolder, "-l", logPath, "-o", settings.joined(separator: " ")])
        } catch {
            throw DFSError(.unavailable, "PostgreSQL did not start: \((error as? DFSError)?.message ?? "\(error)"); log: \(logTail())")
        }
        postmasterPID = readPostmasterPID()
    }

    /// Stops the server (`pg_ctl stop -m fast`, SIGKILL to what is left after 10 s) and
    /// removes its folder.
    public func stop(keepingFolder: Bool = false) async {
        if let pid = postmasterPID, ProcessTable.isAlive(pid) {
            _ = try? await Self.runServerProgram(binFolder + "/pg_ctl", ["stop", "-w", "-t", "10", "-s", "-m", "fast", "-D", dataFolder])
            if ProcessTable.isAlive(pid) { await kill() }
        }
        postmasterPID = nil
        if !keepingFolder { try? FileSystem.removeTree(folder) }
    }

    /// SIGKILL to the postmaster and every process it started, as in a crash of the host;
    /// returns once they are all gone. ``restart()`` starts the server again.
    public func kill() async {
        guard let pid = postmasterPID else { return }
        let processes = [pid] + ProcessTable.children(of: pid)
        for process in processes { Foundation.kill(process, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while processes.contains(where: ProcessTable.isAlive) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        // A killed postmaster may stay a zombie until something reaps it, and PostgreSQL
        // takes a lock file (the data folder's, the socket's) whose process exists as a
        // running server: after a real crash the files name no process at all.
        if !ProcessTable.isAlive(pid) {
            FileSystem.removeQuietly(dataFolder + "/postmaster.pid")
            FileSystem.removeQuietly(folder + "/.s.PGSQL.\(port).lock")
        }
        postmasterPID = nil
    }

    /// Starts the server again on its folder and port, after ``kill()`` or a stop.
    public func restart() async throws {
        if postmasterPID != nil { await kill() }
        try await startServer()
    }

    /// The processes of this server still running: the postmaster and its children.
    public var runningProcesses: [Int32] {
        guard let pid = readPostmasterPID() ?? postmasterPID, ProcessTable.isAlive(pid) else { return [] }
        return [pid] + ProcessTable.children(of: pid)
    }

    private func readPostmasterPID() -> Int32? {
        guard let bytes = try? FileSystem.contents(of: dataFolder + "/postmaster.pid") else { return nil }
        return String(decoding: Data(bytes), as: UTF8.self).split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// The end of the server's log, for an error message.
    func logTail() -> String {
        guard let bytes = try? FileSystem.contents(of: logPath) else { return "(no log)" }
        let lines = String(decoding: Data(bytes), as: UTF8.self).split(separator: "\n").suffix(5)
        return lines.joined(separator: " | ")
    }
}
