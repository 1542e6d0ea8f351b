import DFSCore
import DFSHTTP
import DFSNet
import DFSTesting
import Testing

/// A server on 127.0.0.1 port 0 for one test, with the raw clients it opened; both are
/// closed on every path out of ``TestServer/with(options:handler:_:)``, a throw included.
final class TestServer: @unchecked Sendable {
    let server: HTTPServer
    private let clients = Mutex<[RawClient]>([])

    private init(server: HTTPServer) { self.server = server }

    static func with<T>(
        options: HTTPServerOptions = HTTPServerOptions(), handler: @escaping HTTPHandler = TestRoutes.handle, _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let test = TestServer(server: try HTTPServer(host: "127.0.0.1", port: 0, options: options))
        await test.server.start(handler)
        do {
            let result = try await body(test)
            await test.shutDown()
            return result
        } catch {
            await test.shutDown()
            throw error
        }
    }

    var endpoint: Endpoint { server.endpoint }

    /// A raw client connected to the server, closed when the test ends.
    func connect() async throws -> RawClient {
        let client = RawClient(connection: try await Connection.connect(to: server.endpoint, timeout: .seconds(10)))
        clients.withLock { $0.append(client) }
        return client
    }

    private func shutDown() async {
        for client in clients.withLock({ $0 }) { await client.close() }
        await server.close()
    }

    /// Waits until `condition` holds, checking every 10 ms, for at most `timeout`.
    static func waitUntil(timeout: Duration = .seconds(10), _ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                throw DFSError(.timeout, "timed out waiting until \(what)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The routes most tests use.
enum TestRoutes {
    @Sendable static func handle(_ request: HTTPRequest) async throws -> HTTPResponse {
        switch request.path {
        case "/hello":
            try request.requireMethod([.get, .head])
            return .text(.ok, "hello\n")
        case "/echo":
            let body = try await request.body.collect()
            let trailers = await request.body.trailers()
            var response = HTTPResponse(status: .ok, body: .bytes(body))
            response.headers.add("X-Trailers", trailers.map { "\($0.name)=\($0.value)" }.joined(separator: ","))
            response.headers.add("X-Query", request.head.queryItems?.map { "\($0.name)=\($0.value)" }.joined(separator: ",") ?? "bad")
            return response
        case "/count":
            // Reads the body piece by piece without keeping it.
            var total = 0
            while let piece = try await request.body.read(maxBytes: 1000) { total += piece.count }
            return .text(.ok, "\(total)")
        case "/stream":
            return HTTPResponse(
                body: .stream(length: nil) { writer in
                    for piece in ["one,", "", "two,", "three"] { try await writer.write(Array(piece.utf8)) }
                })
        case "/stream-length":
            return HTTPResponse(
                body: .stream(length: 6) { writer in
                    try await writer.write(Array("abc".utf8))
                    try await writer.write(Array("def".utf8))
                })
        case "/short-stream":
            return HTTPResponse(body: .stream(length: 10) { writer in try await writer.write(Array("abc".utf8)) })
        case "/fail":
            throw DFSError(.internalError, "broken on purpose")
        case "/missing":
            throw HTTPError(.notFound, "no such thing")
        case "/bad-header":
            return HTTPResponse(headers: ["X-Bad": "a\r\nInjected: 1"], body: .bytes([]))
        case "/close":
            return HTTPResponse(headers: ["Connection": "close"], body: .bytes(Array("bye".utf8)))
        default:
            return .text(.notFound, "not found\n")
        }
    }
}
