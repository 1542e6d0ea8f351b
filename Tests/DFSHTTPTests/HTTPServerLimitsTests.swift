import DFSCore
import DFSHTTP
import Testing

/// Requests that break a limit or the syntax, and slow clients: each gets its status and
/// `Connection: close`, and the connection ends.
@Suite struct HTTPServerLimitsTests {
    static let host = "Host: test\r\n"

    static func small(_ change: (inout HTTPServerOptions) -> Void = { _ in }) -> HTTPServerOptions {
        var options = HTTPServerOptions()
        options.requestLineBytesMax = 1024
        options.headerBytesMax = 2048
        options.headerFieldsMax = 10
        options.bufferedBodyBytesMax = 1000
        change(&options)
        return options
    }

    /// Sends `request`, expects `status` with `Connection: close`, then the end of the stream.
    static func expectRefusal(_ request: [UInt8], status: Int, options: HTTPServerOptions = small()) async throws {
        try await TestServer.with(options: options) { server in
            let client = try await server.connect()
            try await client.send(request)
            let response = try await client.readResponse()
            #expect(response.status == status, "\(response.status) \(response.text)")
            #expect(response.headers["Connection"] == "close")
            #expect(response.headers["Content-Type"]?.hasPrefix("text/plain") == true)
            #expect(try await client.serverClosed())
            // The server still serves others.
            let other = try await server.connect()
            try await other.send("GET /hello HTTP/1.1\r\n\(host)\r\n")
            #expect(try await other.readResponse().status == 200)
        }
    }

    static func expectRefusal(_ request: String, status: Int, options: HTTPServerOptions = small()) async throws {
        try await expectRefusal(Array(request.utf8), status: status, options: options)
    }

    @Test func longRequestLineIs414() async throws {
        try await Self.expectRefusal("GET /" + String(repeating: "a", count: 4000) + " HTTP/1.1\r\n\(Self.host)\r\n", status: 414)
    }

    @Test func longHeaderSectionIs431() async throws {
        try await Self.expectRefusal("GET / HTTP/1.1\r\n\(Self.host)X-Big: " + String(repeating: "b", count: 5000) + "\r\n\r\n", status: 431)
    }

    @Test func tooManyFieldsIs431() async throws {
        try await Self.expectRefusal("GET / HTTP/1.1\r\n\(Self.host)" + (0..<11).map { "X-\($0): v\r\n" }.joined() + "\r\n", status: 431)
    }

    @Test func bodyOverTheBufferedLimitIs413() async throws {
        try await Self.expectRefusal("PUT /echo HTTP/1.1\r\n\(Self.host)Content-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000), status: 413)
        let chunks = String(repeating: "64\r\n" + String(repeating: "y", count: 100) + "\r\n", count: 11) + "0\r\n\r\n"
        try await Self.expectRefusal("PUT /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n" + chunks, status: 413)
    }

    @Test func garbageIs400() async throws {
        try await Self.expectRefusal([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03] + Array("\r\n\r\n".utf8), status: 400)
        try await Self.expectRefusal("hello there\r\n\r\n", status: 400)
    }

    @Test func unknownVersionIs505() async throws {
        try await Self.expectRefusal("GET / HTTP/3.0\r\n\(Self.host)\r\n", status: 505)
    }

    @Test func unsupportedTransferCodingIs501() async throws {
        try await Self.expectRefusal("PUT /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: gzip\r\n\r\n", status: 501)
    }

    @Test func conflictingFramingIs400() async throws {
        try await Self.expectRefusal("PUT /echo HTTP/1.1\r\n\(Self.host)Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400)
    }

    @Test func badChunkIs400() async throws {
        try await Self.expectRefusal("PUT /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\nxyz\r\n", status: 400)
    }

    @Test func slowHeaderIsCutOffWith408() async throws {
        let options = Self.small { $0.headerTimeout = .milliseconds(300) }
        try await TestServer.with(options: options) { server in
            let client = try await server.connect()
            let started = ContinuousClock.now
            try await client.send("GET /hello HTTP/1.1\r\nHo")
            let response = try await client.readResponse(timeout: .seconds(10))
            #expect(response.status == 408)
            #expect(response.headers["Connection"] == "close")
            #expect(ContinuousClock.now - started >= .milliseconds(280))
            #expect(try await client.serverClosed())
        }
    }

    @Test func trickledHeaderIsCutOffAtTheHeaderTimeoutNotTheIdleOne() async throws {
        let options = Self.small {
            $0.headerTimeout = .milliseconds(400)
            $0.idleTimeout = .seconds(60)
        }
        try await TestServer.with(options: options) { server in
            let client = try await server.connect()
            // One byte every 50 ms: each arrives well within any idle time, but the head as
            // a whole does not.
            let request = Array("GET /hello HTTP/1.1\r\nX-Slow: \(String(repeating: "z", count: 100))\r\n".utf8)
            let trickle = Task {
                for byte in request {
                    guard (try? await client.send([byte])) != nil, (try? await Task.sleep(for: .milliseconds(50))) != nil else { return }
                }
            }
            let started = ContinuousClock.now
            let response = try await client.readResponse(timeout: .seconds(10))
            trickle.cancel()
            #expect(response.status == 408)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test func idleConnectionIsClosedQuietly() async throws {
        let options = Self.small { $0.idleTimeout = .milliseconds(200) }
        try await TestServer.with(options: options) { server in
            let client = try await server.connect()
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(try await client.serverClosed(timeout: .seconds(10)))
        }
    }

    @Test func stalledBodyIs408() async throws {
        let options = Self.small { $0.bodyTimeout = .milliseconds(200) }
        try await TestServer.with(options: options) { server in
            let client = try await server.connect()
            try await client.send("PUT /echo HTTP/1.1\r\n\(Self.host)Content-Length: 10\r\n\r\nabc")
            let response = try await client.readResponse()
            #expect(response.status == 408 && response.headers["Connection"] == "close")
            #expect(try await client.serverClosed())
        }
    }
}
