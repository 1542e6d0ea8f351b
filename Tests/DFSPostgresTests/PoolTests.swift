import DFSCore
import DFSPostgres
import DFSTesting
import Testing

extension PostgresTests {
    /// The pool's bound, its queue and its limits, and broken connections replaced.
    @Suite struct PoolTests {
        private func pool(_ configure: (inout PostgresPool.Options) -> Void) throws -> PostgresPool {
            var options = PostgresPool.Options()
            configure(&options)
            return try PostgresPool(uri: try sharedServer().uri, options: options)
        }

        /// Blocks a job on the pool's connection until `gate` opens; returns its backend.
        private func startBlockedJob(_ pool: PostgresPool, _ gate: Gate, _ inside: Mutex<Int>) -> Task<Int32, any Error> {
            Task {
                try await pool.withConnection { connection in
                    inside.withLock { $0 += 1 }
                    defer { inside.withLock { $0 -= 1 } }
                    try gate.wait()
                    return connection.backendPID
                }
            }
        }

        @Test func callerBeyondTheBoundWaitsForAConnection() async throws {
            let pool = try pool { $0.connectionsMax = 2 }
            let gate = Gate()
            let inside = Mutex(0)
            let first = startBlockedJob(pool, gate, inside)
            let second = startBlockedJob(pool, gate, inside)
            try await eventually("two jobs inside") { inside.withLock { $0 } == 2 }
            let third = startBlockedJob(pool, gate, inside)
            try await eventually("the third job waits") { await pool.load.waiting == 1 }
            #expect(inside.withLock { $0 } == 2)
            #expect(await pool.load.open == 2)
            gate.open(for: 3)
            let backends = try await [first.value, second.value, third.value]
            // The third ran on a connection one of the first two gave back.
            #expect(Set(backends).count == 2)
            #expect(await pool.load.waiting == 0)
            await pool.close()
        }

        @Test func waitersBeyondTheLimitFailAtOnce() async throws {
            let pool = try pool {
                $0.connectionsMax = 1
                $0.waitersMax = 1
            }
            let gate = Gate()
            let inside = Mutex(0)
            let busy = startBlockedJob(pool, gate, inside)
            try await eventually("one job inside") { inside.withLock { $0 } == 1 }
            let waiting = startBlockedJob(pool, gate, inside)
            try await eventually("one job waits") { await pool.load.waiting == 1 }
            let error = await dfsError { _ = try await pool.query("SELECT 1") }
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("busy") == true)
            gate.open(for: 2)
            _ = try await [busy.value, waiting.value]
            await pool.close()
        }

        @Test func waitingEndsAtTheTimeout() async throws {
            let pool = try pool {
                $0.connectionsMax = 1
                $0.waitTimeout = .milliseconds(200)
            }
            let gate = Gate()
            let inside = Mutex(0)
            let busy = startBlockedJob(pool, gate, inside)
            try await eventually("one job inside") { inside.withLock { $0 } == 1 }
            let error = await dfsError { _ = try await pool.query("SELECT 1") }
            #expect(error?.code == .timeout)
            gate.open(for: 1)
            _ = try await busy.value
            #expect(await pool.load.waiting == 0)
            await pool.close()
        }

        /// The pool looks for the server's goodbye before it hands out an idle connection;
        /// when the goodbye has not arrived yet, the next statement fails on it instead
        /// (statements are never sent twice) and the connection is replaced after it. Either
        /// way, a later statement runs on a new backend.
        @Test func aTerminatedConnectionIsReplaced() async throws {
            let pool = try pool { $0.connectionsMax = 1 }
            let before = try await pool.withConnection { $0.backendPID }
            try await terminateBackend(before)
            do {
                _ = try await pool.query("SELECT 1")
            } catch let error as DFSError {
                #expect(error.code == .connectionFailed, "\(error.message)")
            }
            let rows = try await pool.query("SELECT pg_backend_pid()::bigint")
            let after = try rows[0].int64(0)
            #expect(after != Int64(before))
            #expect(await pool.load.open == 1)
            await pool.close()
        }

        @Test func aStatementOnATerminatedConnectionFailsClearly() async throws {
            let connection = try await connect()
            try await terminateBackend(connection.backendPID)
            let error = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT 1") } }
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("lost the connection") == true)
            #expect(error?.message.contains("\n") == false)
            #expect(connection.isBroken)
            let again = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT 1") } }
            #expect(again?.code == .connectionFailed)
        }

        @Test func aConnectionLostInsideAJobIsReplacedForTheNext() async throws {
            let pool = try pool { $0.connectionsMax = 1 }
            let admin = try await connect()
            defer { admin.close() }
            let error = await dfsError {
                _ = try await pool.withConnection { connection in
                    try admin.execute("SELECT pg_terminate_backend($1::int)", [.int64(Int64(connection.backendPID))])
                    return try connection.query("SELECT pg_sleep(5)")
                }
            }
            #expect(error?.code == .connectionFailed)
            let rows = try await pool.query("SELECT 1::int")
            #expect(try rows[0].int(0) == 1)
            await pool.close()
        }

        @Test func closedPoolRefusesJobs() async throws {
            let pool = try pool { $0.connectionsMax = 1 }
            _ = try await pool.query("SELECT 1")
            await pool.close()
            let error = await dfsError { _ = try await pool.query("SELECT 1") }
            #expect(error?.code == .unavailable)
        }
    }
}
