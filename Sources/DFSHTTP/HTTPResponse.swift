/// What a handler answers: a status, its own header fields, and a body.
///
/// The server adds `Date`, `Server`, the body's framing (`Content-Length`, or
/// `Transfer-Encoding: chunked` for a stream of unknown length) and `Connection: close` when
/// the connection ends after this response; a handler's own framing fields are replaced.
/// A handler that sets `Connection: close` has the connection closed after the response.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: HTTPResponseBody

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: HTTPResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text (UTF-8) response.
    public static func text(_ status: HTTPStatus, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .bytes(Array(text.utf8)))
    }

    /// 405 with the `Allow` field naming the methods the resource takes.
    public static func methodNotAllowed(allowed: [HTTPMethod]) -> HTTPResponse {
        methodNotAllowedError(allowed: allowed).response
    }

    static func methodNotAllowedError(allowed: [HTTPMethod]) -> HTTPError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPError(.methodNotAllowed, "this resource takes \(list)", headers: ["Allow": list])
    }
}

/// A response body: bytes at hand, or a stream that a closure writes piece by piece.
public enum HTTPResponseBody: Sendable {
    case bytes([UInt8])
    /// `write` is called once, after the head has been sent, and writes the body through
    /// the writer it is given; it is not called for HEAD requests nor for statuses without a
    /// body. With a `length`, exactly that many bytes must be written (`Content-Length`
    /// framing); without one, the body is sent chunked (to an HTTP/1.0 client: up to the
    /// end of the connection). If `write` throws, or writes fewer bytes than `length`, the
    /// connection is closed, so the client sees a body cut short, never a wrong one.
    case stream(length: Int?, write: @Sendable (HTTPBodyWriter) async throws -> Void)

    public static let empty = HTTPResponseBody.bytes([])
}
