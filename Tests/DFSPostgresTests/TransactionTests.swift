import DFSCore
import DFSPostgres
import DFSTesting
import Testing

extension PostgresTests {
    /// Commit, rollback, and serializable conflicts run again.
    @Suite struct TransactionTests {
        struct Abandon: Error {}

        private func count(_ connection: PostgresConnection, _ table: String) async throws -> Int64 {
            try await blocking(connection) { try $0.query("SELECT count(*) FROM \(table)")[0].int64(0) }
        }

        @Test func commitKeepsAndThrowRollsBack() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let table = uniqueName("tx")
            try await blocking(connection) { connection in
                try connection.execute("CREATE TABLE \(table) (id bigint)")
                try connection.transaction { try $0.execute("INSERT INTO \(table) VALUES (1), (2)") }
            }
            #expect(try await count(connection, table) == 2)
            await #expect(throws: Abandon.self) {
                try await blocking(connection) { connection in
                    try connection.transaction { connection in
                        try connection.execute("INSERT INTO \(table) VALUES (3)")
                        throw Abandon()
                    }
                }
            }
            #expect(try await count(connection, table) == 2)
        }

        @Test func aSwallowedStatementFailureStillRollsBack() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let table = uniqueName("swallowed")
            let error = await dfsError {
                try await blocking(connection) { connection in
                    try connection.execute("CREATE TABLE \(table) (id bigint)")
                    try connection.transaction(isolation: .readCommitted) { connection in
                        try connection.execute("INSERT INTO \(table) VALUES (1)")
                        _ = try? connection.execute("SELECT * FROM no_such_table")
                    }
                }
            }
            #expect(error?.message.contains("42P01") == true)
            #expect(try await count(connection, table) == 0)
        }

        @Test func isolationLevelIsTheOneAskedFor() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let levels = try await blocking(connection) { connection in
                [
                    try connection.transaction(isolation: .readCommitted) { try $0.query("SHOW transaction_isolation")[0].text(0) },
                    try connection.transaction(isolation: .serializable) { try $0.query("SHOW transaction_isolation")[0].text(0) },
                ]
            }
            #expect(levels == ["read committed", "serializable"])
        }

        /// Two serializable transactions read the same counter, then both add one: the
        /// second to write fails with 40001, runs again on the new value, and the counter
        /// ends at 2 after three runs of the bodies.
        @Test func conflictingSerializableTransactionsAreRetried() async throws {
            var options = PostgresPool.Options()
            options.connectionsMax = 2
            let pool = try PostgresPool(uri: try sharedServer().uri, options: options)
            let table = uniqueName("counter")
            try await pool.execute("CREATE TABLE \(table) (id int PRIMARY KEY, value bigint); INSERT INTO \(table) VALUES (1, 0)")
            let bothRead = Gate()
            let arrivals = Mutex(0)
            let runs = Mutex(0)
            let increment: @Sendable (PostgresConnection) throws -> Int64 = { connection in
                let run = runs.withLock { runs in
                    runs += 1
                    return runs
                }
                let value = try connection.query("SELECT value FROM \(table) WHERE id = 1")[0].int64(0)
                // The first two runs wait for each other, so that both read before either writes.
                if run <= 2 {
                    let arrived = arrivals.withLock { arrivals in
                        arrivals += 1
                        return arrivals
                    }
                    if arrived == 2 { bothRead.open(for: 2) }
                    try bothRead.wait()
                }
                try connection.execute("UPDATE \(table) SET value = $1 WHERE id = 1", [.int64(value + 1)])
                return value + 1
            }
            async let first = pool.transaction(isolation: .serializable, retries: 3, increment)
            async let second = pool.transaction(isolation: .serializable, retries: 3, increment)
            let results = try await [first, second].sorted()
            #expect(results == [1, 2])
            #expect(runs.withLock { $0 } == 3)
            let final = try await pool.query("SELECT value FROM \(table) WHERE id = 1")
            #expect(try final[0].int64(0) == 2)
            await pool.close()
        }
    }
}
