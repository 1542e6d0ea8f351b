import DFSCore
import DFSPostgres
import DFSTesting
import Testing

extension PostgresTests {
    /// Connecting, and the errors of a connection that cannot be made.
    @Suite struct ConnectionTests {
        @Test func connectsAndNamesItsBackend() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let rows = try await blocking(connection) { try $0.query("SELECT pg_backend_pid()::bigint AS pid, current_database() AS name") }
            #expect(try rows[0].int64("pid") == Int64(connection.backendPID))
            #expect(try rows[0].text("name") == PostgresTestServer.databaseName)
            #expect(!connection.isBroken)
        }

        @Test func acceptsThePostgresqlScheme() async throws {
            let uri = try sharedServer().uri.replacingOccurrences(of: "postgres://", with: "postgresql://")
            let connection = try await PostgresConnection.connect(uri: uri)
            connection.close()
            #expect(connection.isBroken)
        }

        @Test func rejectsAURIOfAnotherScheme() async {
            let error = await dfsError { _ = try await PostgresConnection.connect(uri: "/var/lib/dfs/meta.db") }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("not a PostgreSQL URI") == true)
        }

        @Test func rejectsAURILibpqCannotParse() async {
            let error = await dfsError { _ = try await PostgresConnection.connect(uri: "postgres://127.0.0.1/db?no_such_option=1") }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("no_such_option") == true)
            #expect(error?.message.contains("\n") == false)
        }

        @Test func refusedPortIsAOneLineError() async throws {
            let refused = try ReservedPort()
            let started = ContinuousClock.now
            let error = await dfsError { _ = try await PostgresConnection.connect(uri: "postgres://postgres@127.0.0.1:\(refused.port)/dfs") }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("refused") == true)
            #expect(error?.message.contains("\n") == false)
            #expect(error?.message.contains("127.0.0.1:\(refused.port)") == true)
        }

        @Test func unknownDatabaseSaysSo() async throws {
            let server = try sharedServer()
            let error = await dfsError { _ = try await PostgresConnection.connect(uri: "postgres://postgres@127.0.0.1:\(server.port)/no_such_db") }
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("does not exist") == true)
            #expect(error?.message.contains("\n") == false)
        }

        @Test func acceptsAMultiHostURI() throws {
            // What dfs meta servers are given to follow a PostgreSQL failover: libpq tries
            // the hosts in order and keeps the first that takes writes.
            try PostgresURI.validate("postgres://dfs@db1.example:5432,db2.example:5432/dfs?target_session_attrs=read-write")
            try PostgresURI.validate("postgresql://dfs@[::1]:5432,db2.example/dfs?target_session_attrs=primary")
            let redacted = PostgresURI.redacted("postgres://dfs:s3cret@db1:5432,db2:5432/dfs?target_session_attrs=read-write")
            #expect(redacted == "postgres://dfs:***@db1:5432,db2:5432/dfs?target_session_attrs=read-write")
        }

        @Test func aMultiHostURIConnectsToTheHostThatTakesWrites() async throws {
            let server = try sharedServer()
            let refused = try ReservedPort()
            let uri =
                "postgres://\(PostgresTestServer.userName)@127.0.0.1:\(refused.port),127.0.0.1:\(server.port)/\(PostgresTestServer.databaseName)"
                + "?target_session_attrs=read-write"
            let connection = try await PostgresConnection.connect(uri: uri)
            defer { connection.close() }
            let rows = try await blocking(connection) { try $0.query("SELECT inet_server_port()") }
            #expect(try rows[0].int(0) == server.port)
        }

        @Test func messagesHideThePassword() {
            let redacted = PostgresURI.redacted("postgres://meta:s3cret@db.example:5432/dfs?sslmode=require&password=other")
            #expect(redacted == "postgres://meta:***@db.example:5432/dfs?sslmode=require&password=***")
            #expect(PostgresURI.redacted("postgres://meta@db/dfs") == "postgres://meta@db/dfs")
        }

        @Test func serverErrorCarriesItsSQLState() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let error = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT * FROM no_such_table") } }
            #expect(error?.message.contains("42P01") == true)
            #expect(error?.message.contains("does not exist") == true)
            #expect(connection.lastFailure?.sqlState == "42P01")
            // The connection is still good.
            let rows = try await blocking(connection) { try $0.query("SELECT 1::int") }
            #expect(try rows[0].int(0) == 1)
            #expect(connection.lastFailure == nil)
        }

        @Test func uniqueViolationIsAlreadyExists() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let table = uniqueName("unique")
            let error = await dfsError {
                try await blocking(connection) { connection in
                    try connection.execute("CREATE TABLE \(table) (id bigint PRIMARY KEY)")
                    try connection.execute("INSERT INTO \(table) VALUES ($1)", [.int64(1)])
                    try connection.execute("INSERT INTO \(table) VALUES ($1)", [.int64(1)])
                }
            }
            #expect(error?.code == .alreadyExists)
            #expect(connection.lastFailure?.sqlState == "23505")
        }

        @Test func executeRunsSeveralStatementsAndCountsChangedRows() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let table = uniqueName("several")
            let changed = try await blocking(connection) { connection in
                try connection.execute("CREATE TABLE \(table) (id bigint); INSERT INTO \(table) SELECT generate_series(1, 5)")
                return try connection.execute("UPDATE \(table) SET id = id + $1 WHERE id > 2", [.int64(10)])
            }
            #expect(changed == 3)
        }
    }
}
