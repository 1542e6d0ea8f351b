import DFSCore
import DFSHTTP
import Testing

/// Connections coming and going: clients that vanish, more clients than the cap, a server
/// that stops while requests are under way.
@Suite struct HTTPServerLifecycleTests {
    static let host = "Host: test\r\n"

    @Test func clientsThatVanishMidRequestLeaveTheServerServingOthers() async throws {
        try await TestServer.with { server in
            let midHead = try await server.connect()
            try await midHead.send("GET /hello HTTP/1.1\r\nHo")
            let midBody = try await server.connect()
            try await midBody.send("PUT /echo HTTP/1.1\r\n\(Self.host)Content-Length: 100\r\n\r\nabc")
            let midChunk = try await server.connect()
            try await midChunk.send("PUT /echo HTTP/1.1\r\n\(Self.host)Transfer-Encoding: chunked\r\n\r\n10\r\nab")
            await midHead.close()
            await midBody.close()
            await midChunk.close()
            let other = try await server.connect()
            try await other.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await other.readResponse().status == 200)
            // The vanished clients' connections are let go.
            try await TestServer.waitUntil("only one connection is left") { await server.server.connectionCount == 1 }
            try await other.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await other.readResponse().status == 200)
        }
    }

    @Test func connectionsOverTheCapAreAnswered503() async throws {
        var options = HTTPServerOptions()
        options.connectionsMax = 2
        try await TestServer.with(options: options) { server in
            let first = try await server.connect()
            let second = try await server.connect()
            for client in [first, second] {
                try await client.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
                #expect(try await client.readResponse().status == 200)
            }
            let third = try await server.connect()
            let refused = try await third.readResponse()
            #expect(refused.status == 503)
            #expect(refused.headers["Connection"] == "close")
            #expect(try await third.serverClosed())
            // A place freed is taken again.
            await first.close()
            try await TestServer.waitUntil("a connection is let go") { await server.server.connectionCount < 2 }
            let fourth = try await server.connect()
            try await fourth.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await fourth.readResponse().status == 200)
        }
    }

    @Test func closeLetsTheRequestUnderWayFinishAndEndsIdleConnections() async throws {
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        let handler: HTTPHandler = { request in
            if request.path == "/slow" {
                startedContinuation.yield()
                for await _ in release { break }
                return .text(.ok, "done")
            }
            return try await TestRoutes.handle(request)
        }
        try await TestServer.with(handler: handler) { server in
            let idle = try await server.connect()
            try await idle.send("GET /hello HTTP/1.1\r\n\(Self.host)\r\n")
            #expect(try await idle.readResponse().status == 200)
            let busy = try await server.connect()
            try await busy.send("GET /slow HTTP/1.1\r\n\(Self.host)\r\n")
            for await _ in started { break }
            let closing = Task { await server.server.close(grace: .seconds(20)) }
            // The idle connection ends at once; the busy one waits for its response.
            #expect(try await idle.serverClosed())
            releaseContinuation.yield()
            let response = try await busy.readResponse()
            #expect(response.text == "done")
            #expect(response.headers["Connection"] == "close")
            #expect(try await busy.serverClosed())
            await closing.value
            // No longer accepting.
            #expect(await (try? server.connect()) == nil)
        }
    }
}
