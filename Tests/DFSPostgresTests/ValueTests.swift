import DFSCore
import DFSPostgres
import Testing

extension PostgresTests {
    /// Every kind of value there and back, and typed reads that do not fit their column.
    @Suite struct ValueTests {
        /// Writes `values` into a column of `type` and reads them back in order.
        private func roundTrip(_ type: String, _ values: [PostgresValue]) async throws -> [PostgresValue] {
            let connection = try await connect()
            defer { connection.close() }
            let table = uniqueName("values")
            return try await blocking(connection) { connection in
                try connection.execute("CREATE TEMPORARY TABLE \(table) (position int PRIMARY KEY, value \(type))")
                for (position, value) in values.enumerated() {
                    try connection.execute("INSERT INTO \(table) VALUES ($1, $2)", [.int(position), value])
                }
                return try connection.query("SELECT value FROM \(table) ORDER BY position").map { try $0.value(0) }
            }
        }

        @Test func integersIncludingTheExtremes() async throws {
            let values: [PostgresValue] = [.int64(.min), .int64(.max), .int64(0), .int64(-1), .int64(1), .null]
            #expect(try await roundTrip("bigint", values) == values)
        }

        @Test func doublesIncludingSpecialValues() async throws {
            let numbers: [Double] = [0, 1.5, -2.25, .pi, 1e300, -1e-300, .greatestFiniteMagnitude, .leastNormalMagnitude, .infinity, -.infinity]
            let values = numbers.map(PostgresValue.double) + [.null]
            #expect(try await roundTrip("double precision", values) == values)
            let nan = try await roundTrip("double precision", [.double(.nan)])
            guard case .double(let number) = nan[0] else {
                Issue.record("NaN came back as \(nan[0])")
                return
            }
            #expect(number.isNaN)
        }

        @Test func booleans() async throws {
            let values: [PostgresValue] = [.bool(true), .bool(false), .null]
            #expect(try await roundTrip("boolean", values) == values)
        }

        @Test func textEmptyUnicodeAndLong() async throws {
            let values: [PostgresValue] = [
                .text(""), .text("plain"), .text("zażółć gęślą jaźń 日本語 🚀 \u{202E}right-to-left"), .text("quote ' and \\ backslash"),
                .text(String(repeating: "long ", count: 20_000)), .null,
            ]
            #expect(try await roundTrip("text", values) == values)
        }

        @Test func byteaWithAllByteValues() async throws {
            let every = (0...255).map(UInt8.init)
            let values: [PostgresValue] = [.bytes(every), .bytes([]), .bytes([0]), .bytes(every.reversed()), .null]
            #expect(try await roundTrip("bytea", values) == values)
        }

        @Test func parametersKeepTheirTypesInExpressions() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let rows = try await blocking(connection) {
                try $0.query("SELECT $1 + 1 AS next, $2 || '!' AS shout, $3::text IS NULL AS missing", [.int64(Int64.max - 1), .text("hi"), .null])
            }
            #expect(try rows[0].int64("next") == Int64.max)
            #expect(try rows[0].text("shout") == "hi!")
            #expect(try rows[0].bool("missing"))
        }

        @Test func textWithANulCharacterIsRefused() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let error = await dfsError { _ = try await blocking(connection) { try $0.query("SELECT $1", [.text("a\u{0}b")]) } }
            #expect(error?.code == .invalidArgument)
        }

        @Test func typedReadsOfTheWrongTypeThrowInsteadOfTrapping() async throws {
            let connection = try await connect()
            defer { connection.close() }
            let rows = try await blocking(connection) {
                try $0.query("SELECT 'text'::text AS word, 42::int AS number, NULL::bigint AS nothing, 3000000000::bigint AS big")
            }
            let row = rows[0]
            #expect(throws: DFSError.self) { try row.int64("word") }
            #expect(throws: DFSError.self) { try row.text("number") }
            #expect(throws: DFSError.self) { try row.bytes("word") }
            #expect(throws: DFSError.self) { try row.double("word") }
            #expect(throws: DFSError.self) { try row.bool("number") }
            #expect(throws: DFSError.self) { try row.int64("nothing") }
            #expect(throws: DFSError.self) { try row.int64(9) }
            #expect(throws: DFSError.self) { try row.int64("no_such_column") }
            #expect(try row.isNull("nothing"))
            #expect(try row.value("nothing") == .null)
            #expect(try row.int("big") == 3_000_000_000)
            do {
                _ = try row.int64("word")
            } catch {
                #expect(error.message.contains("word") && error.message.contains("text"))
            }
        }
    }
}
