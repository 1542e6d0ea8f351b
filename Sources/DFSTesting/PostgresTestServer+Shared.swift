import DFSCore
import DFSPostgres
import DFSSystem
import Foundation

/// One PostgreSQL server for a whole test process, with a new schema of its own for each
/// test that asks (a database per test would copy megabytes each): starting a server takes
/// a second or two, a schema a millisecond.
/// The server is stopped and its folder removed when the process exits; a process that was
/// killed leaves it for the next run's ``PostgresTestServer/sweepAbandoned()``.
extension PostgresTestServer {
    private static let sharedServer = SharedServer()

    /// The shared server's `max_connections`. Swift Testing starts every test of the process
    /// at once, and each holds a connection or two for as long as it runs (a meta store keeps
    /// one open): DFSMetaTests alone has some 80 PostgreSQL test cases. A server process
    /// costs a few MB while its connection is open.
    static let sharedMaxConnections = 200

    /// A URI whose connections see a new, empty schema on the process's shared server (its
    /// `search_path`), as if it were a database of its own.
    public static func freshDatabase() async throws -> String {
        let server = try await sharedServer.server()
        let schema = "test_\(sharedServer.nextNumber())"
        try await BlockingIO.run {
            let connection = try PostgresConnection(uri: server.uri)
            defer { connection.close() }
            try connection.execute("CREATE SCHEMA \(schema)")
        }
        return server.uri + "?options=-csearch_path%3D\(schema)"
    }

    /// A new role on the process's shared server that must give `password` (SCRAM) to
    /// connect over TCP, with a schema of its own; returns the URI without the password, as
    /// a user names a database whose password comes from `PGPASSWORD` or a password file.
    public static func passwordProtectedDatabase(password: String) async throws -> String {
        let server = try await sharedServer.server()
        let role = "dfs_user_\(sharedServer.nextNumber())"
        // The role's rule goes before the catch-all `trust` lines: the first match decides.
        let rules = server.dataFolder + "/pg_hba.conf"
        let old = String(decoding: try FileSystem.contents(of: rules), as: UTF8.self)
        try Data("host all \(role) 127.0.0.1/32 scram-sha-256\n\(old)".utf8).write(to: URL(fileURLWithPath: rules))
        try await BlockingIO.run {
            let connection = try PostgresConnection(uri: server.uri)
            defer { connection.close() }
            try connection.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
            try connection.execute("CREATE SCHEMA \(role) AUTHORIZATION \(role)")
            _ = try connection.query("SELECT pg_reload_conf()")
        }
        // A reload is asynchronous: wait until the rule applies (a connection without the
        // password is refused).
        let uri = "postgres://\(role)@127.0.0.1:\(server.port)/\(databaseName)?options=-csearch_path%3D\(role)"
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let refused = (try? await BlockingIO.run { try PostgresConnection(uri: uri).close() }) == nil
            if refused { return uri }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DFSError(.timeout, "PostgreSQL did not start asking \(role) for a password")
    }

    /// True when PostgreSQL's programs are installed (`make deps` installs them).
    public static var isInstalled: Bool { binFolder != nil }
}

private final class SharedServer: @unchecked Sendable {
    private let lock = NSLock()
    private var started: Task<PostgresTestServer, Error>?
    private var count = 0

    func nextNumber() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }

    func server() async throws -> PostgresTestServer {
        try await startingTask().value
    }

    private func startingTask() -> Task<PostgresTestServer, Error> {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        let task = Task {
            let server = try await PostgresTestServer.start(maxConnections: PostgresTestServer.sharedMaxConnections)
            SharedServerExit.register(server)
            return server
        }
        started = task
        return task
    }
}

/// Stops the shared server when the test process exits (`atexit`).
private enum SharedServerExit {
    nonisolated(unsafe) static var server: PostgresTestServer?

    static func register(_ server: PostgresTestServer) {
        self.server = server
        atexit {
            guard let server = SharedServerExit.server else { return }
            for process in server.runningProcesses { kill(process, SIGKILL) }
            let deadline = Date().addingTimeInterval(10)
            while !server.runningProcesses.isEmpty && Date() < deadline { usleep(10_000) }
            try? FileSystem.removeTree(server.folder)
        }
    }
}
