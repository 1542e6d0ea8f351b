import DFSCore
import DFSPostgres
import DFSSystem
import Foundation

/// The PostgreSQL database of `dfs bench`'s PostgreSQL store rows: a throwaway server the
/// run starts in a folder of its own and stops at its end, or a database the user names
/// with `--postgres`.
///
/// The throwaway server is a new cluster (`initdb -A trust -U postgres -E UTF8 --locale=C`)
/// listening on 127.0.0.1 and a free port, with PostgreSQL's defaults otherwise: fsync,
/// synchronous_commit and full_page_writes on, as a namespace needs them, so that its rows
/// measure what a real deployment would get. The server programs refuse to run as root: a
/// root run starts them as the `postgres` user (`runuser -u postgres --`), in a folder that
/// user owns. A run that was killed before it could stop its server leaves it to the next
/// run, which stops it and removes its folder (``sweepAbandoned(in:)``).
final class BenchPostgres {
    /// Where the rows' database comes from.
    enum Source: Equatable {
        /// A throwaway server, when PostgreSQL's server programs are installed.
        case throwaway
        /// A database the user named (`--postgres URI`).
        case existing(uri: String)
        /// No PostgreSQL rows (`--no-postgres`).
        case skipped
    }

    /// The database superuser of a throwaway server, whatever the operating-system user.
    static let userName = "postgres"
    static let databaseName = "dfs_bench"
    /// Throwaway servers' folders start with this, for ``sweepAbandoned(in:)``.
    static let folderPrefix = "dfs-bench-pg-"

    /// The database, as the meta server connects to it.
    let uri: String
    /// `SHOW server_version`, and the durability settings the rows ran with.
    let version: String
    let fsync: String
    let synchronousCommit: String
    /// The throwaway server's folder (`data`, `postgres.log`, its Unix socket, `owner`) and
    /// programs; nil for a database the user named.
    private var server: (folder: String, programs: Programs)?

    private init(uri: String, server: (folder: String, programs: Programs)?) throws {
        self.uri = uri
        self.server = server
        let connection = try PostgresConnection(uri: uri)
        defer { connection.close() }
        func setting(_ name: String) throws -> String {
            try connection.simpleQuery("SHOW \(name)").first?.text(0) ?? "?"
        }
        version = try setting("server_version")
        fsync = try setting("fsync")
        synchronousCommit = try setting("synchronous_commit")
    }

    /// A database the user named: connects once, for its version and settings.
    static func existing(uri: String) throws -> BenchPostgres {
        try BenchPostgres(uri: uri, server: nil)
    }

    /// Creates a cluster in a new folder under `parent` (or /tmp, when the `postgres` user
    /// cannot reach `parent`), starts it and creates the bench's database: a few seconds.
    /// Stops the server and removes the folder when any step fails.
    static func start(in parent: String, programs: Programs) throws -> BenchPostgres {
        sweepAbandoned(in: [parent, "/tmp"], programs: programs)
        let folder = try programs.makeFolder(in: parent)
        do {
            // --no-sync: initdb's own flush of the template files is not what the rows
            // measure, and costs seconds; the server itself runs with fsync on.
            try programs.runAsServerUser(
                "initdb",
                ["-D", folder + "/data", "-A", "trust", "-U", userName, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            let port = try startServer(folder: folder, programs: programs)
            try programs.run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", userName, databaseName])
            return try BenchPostgres(uri: "postgres://\(userName)@127.0.0.1:\(port)/\(databaseName)", server: (folder, programs))
        } catch {
            stopServer(folder: folder, programs: programs)
            try? FileSystem.removeTree(folder)
            throw error
        }
    }

    /// `pg_ctl start -w` on a free loopback port; returns the port. The port is free when
    /// found, and is released just before the server binds it: another program may take it
    /// in between, so a failed bind tries another, three times at most.
    private static func startServer(folder: String, programs: Programs) throws -> Int {
        let logPath = folder + "/postgres.log"
        for attempt in 1...3 {
            let port = try freePort()
            let settings = ["-c listen_addresses=127.0.0.1", "-p \(port)", "-k '\(folder)'"]
            do {
                try programs.runAsServerUser(
                    "pg_ctl", ["start", "-w", "-t", "30", "-s", "-D", folder + "/data", "-l", logPath, "-o", settings.joined(separator: " ")])
                return port
            } catch {
                let log = String(decoding: (try? FileSystem.contents(of: logPath)) ?? [], as: UTF8.self)
                guard attempt < 3, log.contains("could not bind") || log.contains("Address already in use") else {
                    let tail = log.split(separator: "\n").suffix(3).joined(separator: " | ")
                    throw DFSError(.unavailable, "PostgreSQL did not start: \((error as? DFSError)?.message ?? "\(error)"); its log: \(tail)")
                }
            }
        }
        preconditionFailure("the last attempt returns or throws")
    }

    /// A port on 127.0.0.1 that nothing listens on: the kernel's pick for a socket bound to
    /// port 0, closed again.
    private static func freePort() throws -> Int {
        do throws(SystemError) {
            let (fd, port) = try SocketCalls.openLoopback(listening: false)
            SocketCalls.close(fd)
            return port
        } catch {
            throw DFSError(.ioError, "cannot find a free port for PostgreSQL: \(error.reason)")
        }
    }

    /// Stops a throwaway server (`pg_ctl stop -m fast`, `-m immediate` if that fails) and
    /// removes its folder; a database the user named is left as it is. Safe to call twice.
    func stop() {
        guard let server else { return }
        self.server = nil
        Self.stopServer(folder: server.folder, programs: server.programs)
        try? FileSystem.removeTree(server.folder)
    }

    private static func stopServer(folder: String, programs: Programs) {
        let data = folder + "/data"
        guard FileManager.default.fileExists(atPath: data + "/postmaster.pid") else { return }
        do {
            try programs.runAsServerUser("pg_ctl", ["stop", "-w", "-t", "10", "-s", "-m", "fast", "-D", data])
        } catch {
            _ = try? programs.runAsServerUser("pg_ctl", ["stop", "-w", "-t", "10", "-s", "-m", "immediate", "-D", data])
        }
    }

    /// Stops the servers of earlier runs that were killed before they could, and removes their
    /// folders: a folder whose `owner` process is gone is abandoned.
    static func sweepAbandoned(in parents: [String], programs: Programs) {
        for parent in Set(parents) {
            let names = (try? FileSystem.contentsOfFolder(parent)) ?? []
            for name in names where name.hasPrefix(folderPrefix) {
                let folder = parent + "/" + name
                guard let bytes = try? FileSystem.contents(of: folder + "/owner"),
                    let owner = Int32(String(decoding: bytes, as: UTF8.self)),
                    kill(owner, 0) != 0 && errno == ESRCH
                else { continue }
                stopServer(folder: folder, programs: programs)
                try? FileSystem.removeTree(folder)
            }
        }
    }
}
