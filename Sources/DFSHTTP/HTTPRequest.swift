import DFSCore

/// One request as a handler sees it: its head, where it came from, and its body, which the
/// handler reads (or not) through ``body``.
public struct HTTPRequest: Sendable {
    public let head: HTTPRequestHead
    /// The client's address.
    public let remote: Endpoint
    public let body: HTTPRequestBody

    public var method: HTTPMethod { head.method }
    public var path: String { head.path }
    public var query: String? { head.query }
    public var headers: HTTPHeaders { head.headers }
    public var version: HTTPVersion { head.version }

    /// Throws 405, with `Allow` listing `allowed`, unless the method is one of them: the
    /// method policy of a resource in one line (`try request.requireMethod([.get, .head])`).
    public func requireMethod(_ allowed: [HTTPMethod]) throws(HTTPError) {
        guard allowed.contains(method) else { throw HTTPResponse.methodNotAllowedError(allowed: allowed) }
    }
}

/// The server's answer to each request: called once per request, on the connection's task.
/// An ``HTTPError`` thrown becomes its response; any other error a 500.
public typealias HTTPHandler = @Sendable (HTTPRequest) async throws -> HTTPResponse
