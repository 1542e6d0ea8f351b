import DFSCore
import DFSPostgres
import Testing

extension PostgresTests {
    /// Results and statements beyond the limits are errors, and the connection survives them.
    @Suite struct LimitTests {
        @Test func rowLimitHoldsAndOneMoreThrows() async throws {
            let connection = try await connect { $0.limits.rowsMax = 100 }
            defer { connection.close() }
            let rows = try await blocking(connection) { try $0.query("SELECT generate_series(1, 100)") }
            #expect(rows.count == 100)
            let error = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT generate_series(1, 101)") } }
            #expect(error?.code == .tooLarge)
            #expect(error?.message.contains("100 rows") == true)
            let after = try await blocking(connection) { try $0.query("SELECT 7::bigint") }
            #expect(try after[0].int64(0) == 7)
        }

        @Test func aHugeResultIsCancelledOnTheServer() async throws {
            let connection = try await connect { $0.limits.rowsMax = 10 }
            defer { connection.close() }
            let started = ContinuousClock.now
            // Ten billion rows: only a cancelled query ends in time.
            let error = await dfsError { _ = try await blocking(connection) { try $0.execute("SELECT generate_series(1, 10000000000)") } }
            #expect(error?.code == .tooLarge)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(!connection.isBroken)
        }

        @Test func byteLimitThrows() async throws {
            let connection = try await connect { $0.limits.resultBytesMax = 1000 }
            defer { connection.close() }
            _ = try await blocking(connection) { try $0.query("SELECT repeat('x', 1000)") }
            let error = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT repeat('x', 1001)") } }
            #expect(error?.code == .tooLarge)
        }

        @Test func statementAndParameterLimitsThrowBeforeSending() async throws {
            let connection = try await connect {
                $0.limits.statementBytesMax = 64
                $0.limits.parameterBytesMax = 16
            }
            defer { connection.close() }
            let longStatement = "SELECT 1 " + String(repeating: " ", count: 64)
            let statementError = await dfsError { _ = try await blocking(connection) { try $0.query(longStatement) } }
            #expect(statementError?.code == .tooLarge)
            let parameterError = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT $1", [.bytes(Array(repeating: 1, count: 17))]) } }
            #expect(parameterError?.code == .tooLarge)
            #expect(connection.lastFailure == nil)
        }
    }
}
