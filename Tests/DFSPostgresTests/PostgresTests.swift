import DFSCore
import DFSPostgres
import DFSSystem
import DFSTesting
import Dispatch
import Testing

/// Every test of this target, under one PostgreSQL server started once for the run
/// (``SharedPostgresServer``); the nested suites in the other files share it, each with
/// tables and lock keys of its own.
@Suite(
    .enabled(if: PostgresTestServer.shouldRun, "PostgreSQL's initdb and pg_ctl are not installed (make deps installs them)"),
    SharedPostgresServer())
struct PostgresTests {}

/// Starts one PostgreSQL server around the whole suite and stops it after the last test.
struct SharedPostgresServer: SuiteTrait, TestScoping {
    @TaskLocal static var current: PostgresTestServer?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await PostgresTestServer.with { server in
            try await SharedPostgresServer.$current.withValue(server) { try await function() }
        }
    }
}

/// The suite's server.
func sharedServer() throws -> PostgresTestServer {
    try #require(SharedPostgresServer.current, "the suite's PostgreSQL server did not start")
}

/// A name no other test uses, for a table or a lock key.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}

func uniqueKey() -> Int64 { Int64.random(in: 1...Int64.max) }

/// A connection of its own to the suite's database, opened on a BlockingIO thread.
func connect(_ configure: (inout PostgresConnection.Options) -> Void = { _ in }) async throws -> PostgresConnection {
    var options = PostgresConnection.Options()
    configure(&options)
    return try await PostgresConnection.connect(uri: try sharedServer().uri, options: options)
}

/// Runs blocking `work` with `connection` on a BlockingIO thread, as a pool would.
func blocking<T: Sendable>(_ connection: PostgresConnection, _ work: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
    try await BlockingIO.run { try work(connection) }
}

/// The DFSError a call threw; fails the test when it threw none or another kind.
func dfsError(_ body: () async throws -> Void) async -> DFSError? {
    do {
        try await body()
        Issue.record("expected an error")
        return nil
    } catch let error as DFSError {
        return error
    } catch {
        Issue.record("expected a DFSError, got \(error)")
        return nil
    }
}

/// Ends the server process of `pid` from another connection and waits until it is gone.
func terminateBackend(_ pid: Int32) async throws {
    let admin = try await connect()
    defer { admin.close() }
    _ = try await blocking(admin) { try $0.query("SELECT pg_terminate_backend($1::int)", [.int64(Int64(pid))]) }
    try await eventually("backend \(pid) gone") {
        try await blocking(admin) { try $0.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [.int64(Int64(pid))]).isEmpty }
    }
}

/// A gate that blocking jobs wait at until the test opens it (with a deadline, so that a
/// test that fails does not hang).
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    func wait() throws {
        guard semaphore.wait(timeout: .now() + 20) == .success else { throw DFSError(.timeout, "gate never opened") }
    }

    func open(for count: Int) {
        for _ in 0..<count { semaphore.signal() }
    }
}
