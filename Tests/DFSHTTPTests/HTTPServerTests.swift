import DFSCore
import DFSHTTP
import Testing

/// The server on loopback: requests, keep-alive, pipelining, bodies in and out.
@Suite struct HTTPServerTests {
    static let host = "Host: test\r\n"

    @Test func getAnswersWithLengthDateAndServer() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200 && response.reason == "OK")
            #expect(response.text == "hello\n")
            #expect(response.headers["Content-Length"] == "6")
            #expect(response.headers["Server"] == "dfs")
            #expect(response.headers["Date"]?.hasSuffix(" GMT") == true)
            #expect(response.headers["Connection"] == nil)
        }
    }

    @Test func headSendsTheHeadersWithoutTheBody() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("HEAD /hello HTTP/1.1\r\n\(Self.host)\r\n")
            let head = try await client.readResponse(toHead: true)
            #expect(head.status == 200)
            #expect(head.headers["Content-Length"] == "6")
            // Had a body been sent, it would be read here instead of the next status line.
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse().text == "hello\n")
            try await client.send("HEAD /stream HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse(toHead: true).headers["Transfer-Encoding"] == "chunked")
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse().text == "hello\n")
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnectionUntilClose() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            for index in 0..<5 {
                try await client.send("PUT /echo?n=\(index) HTTP/1.1\r\n\(Self.host)Content-Length: 1\r\n\r\n\(index)")
                let response = try await client.readResponse()
                #expect(response.text == "\(index)")
                #expect(response.headers["X-Query"] == "n=\(index)")
            }
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)Connection: close\r\n\r\n")
            let last = try await client.readResponse()
            #expect(last.headers["Connection"] == "close")
            #expect(try await client.serverClosed())
        }
    }

    @Test func http10ConnectionClosesAfterItsResponse() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("GET /hello HTTP/1.0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.text == "hello\n")
            #expect(response.headers["Connection"] == "close")
            #expect(try await client.serverClosed())
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send(
                "GET /hello HTTP/1.1\r\n\(Self.host)\r\nPOST /echo HTTP/1.1\r\n\(Self.host)Content-Length: 3\r\n\r\nabc"
                    + "POST /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\nGET /missing HTTP/1.1\r\n\(Self.host)\r\n"
            )
            #expect(try await client.readResponse().text == "hello\n")
            #expect(try await client.readResponse().text == "abc")
            let chunked = try await client.readResponse()
            #expect(chunked.text == "de" && chunked.headers["X-Trailers"] == "X-T=1")
            let missing = try await client.readResponse()
            #expect(missing.status == 404 && missing.text == "no such thing\n")
        }
    }

    @Test func streamedResponsesAreChunkedOrLengthFramed() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("GET /stream HTTP/1.1\r\n\(Self.host)\r\n")
            let chunked = try await client.readResponse()
            #expect(chunked.headers["Transfer-Encoding"] == "chunked" && chunked.text == "one,two,three")
            try await client.send("GET /stream-length HTTP/1.1\r\n\(Self.host)\r\n")
            let framed = try await client.readResponse()
            #expect(framed.headers["Content-Length"] == "6" && framed.text == "abcdef")
            // A stream that ends short closes the connection: the client sees a short body.
            try await client.send("GET /short-stream HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(await (try? client.readResponse()) == nil)
        }
    }

    @Test func streamToAnHTTP10ClientRunsToTheEndOfTheConnection() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("GET /stream HTTP/1.0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.headers["Transfer-Encoding"] == nil && response.headers["Connection"] == "close")
            #expect(response.text == "one,two,three")
        }
    }

    @Test func largeBodiesAreStreamedInPieces() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            let size = 3 * 1024 * 1024 + 17
            try await client.send(Array("PUT /count HTTP/1.1\r\n\(Self.host)Content-Length: \(size)\r\n\r\n".utf8) + [UInt8](repeating: 7, count: size))
            #expect(try await client.readResponse().text == "\(size)")
            var chunked = Array("PUT /count HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n".utf8)
            for piece in 0..<50 {
                chunked += Array("\(String(10_000 + piece, radix: 16))\r\n".utf8) + [UInt8](repeating: 1, count: 10_000 + piece) + Array("\r\n".utf8)
            }
            chunked += Array("0\r\n\r\n".utf8)
            try await client.send(chunked)
            #expect(try await client.readResponse().text == "\((0..<50).reduce(0) { $0 + 10_000 + $1 })")
        }
    }

    @Test func expectContinueIsAnsweredWhenTheBodyIsRead() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("PUT /echo HTTP/1.1\r\n\(Self.host)Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let interim = try await client.readResponse()
            #expect(interim.status == 100)
            try await client.send("hello")
            #expect(try await client.readResponse().text == "hello")
            // A handler that answers without reading: no 100, the final answer, and the
            // connection ends (the body was never sent).
            try await client.send("PUT /hello HTTP/1.1\r\n\(Self.host)Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let refused = try await client.readResponse()
            #expect(refused.status == 405 && refused.headers["Allow"] == "GET, HEAD")
            #expect(refused.headers["Connection"] == "close")
            #expect(try await client.serverClosed())
        }
    }

    @Test func unreadSmallBodyIsDroppedAndTheConnectionKept() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("POST /hello HTTP/1.1\r\n\(Self.host)Content-Length: 5\r\n\r\nhello")
            let refused = try await client.readResponse()
            #expect(refused.status == 405 && refused.headers["Connection"] == nil)
            try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse().status == 200)
        }
    }

    @Test func handlerErrorsBecomeResponses() async throws {
        try await TestServer.with { server in
            let client = try await server.connect()
            try await client.send("GET /fail HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await client.readResponse().status == 500)
            try await client.send("GET /bad-header HTTP/1.1\r\n\(Self.host)\r\n")
            let bad = try await client.readResponse()
            #expect(bad.status == 500 && bad.headers["Injected"] == nil)
            try await client.send("GET /close HTTP/1.1\r\n\(Self.host)\r\n")
            let closing = try await client.readResponse()
            #expect(closing.text == "bye" && closing.headers["Connection"] == "close")
            #expect(try await client.serverClosed())
        }
    }
}
