/// The body of one request, read from the connection as the handler asks for it.
///
/// Nothing of the body is read before the handler asks, so a large upload can be streamed
/// to its destination piece by piece (``read(maxBytes:)``), or taken whole when it is small
/// (``collect(maxBytes:)``). A client that sent `Expect: 100-continue` is sent `100
/// Continue` on the first read, so a handler that refuses the request without reading is
/// not sent a body it would only drop. The body can be read only while its request is being
/// answered.
public struct HTTPRequestBody: Sendable {
    let session: HTTPSession
    let requestNumber: Int
    /// The length the client declared (`Content-Length`), nil for a chunked body; 0 when
    /// there is no body.
    public let declaredLength: Int?
    /// Whether the body comes chunked.
    public let isChunked: Bool

    /// The next piece of the body, at most `maxBytes`; nil once it has all been read.
    /// Throws an ``HTTPError`` when the body is malformed (400), stops arriving (408) or the
    /// connection ends.
    public func read(maxBytes: Int = HTTPLimits.bodyReadBytesMax) async throws -> [UInt8]? {
        try await session.readBody(requestNumber: requestNumber, maxBytes: max(1, maxBytes))
    }

    /// The whole body, which must not exceed `maxBytes` (the server's
    /// ``HTTPServerOptions/bufferedBodyBytesMax`` when nil): 413 otherwise, thrown before a
    /// byte is read when the declared length already says so.
    public func collect(maxBytes: Int? = nil) async throws -> [UInt8] {
        let limit = maxBytes ?? session.options.bufferedBodyBytesMax
        if let declaredLength, declaredLength > limit {
            throw HTTPError(.contentTooLarge, "the body is \(declaredLength) bytes; at most \(limit) are taken")
        }
        var bytes: [UInt8] = []
        while let piece = try await read() {
            guard bytes.count + piece.count <= limit else {
                throw HTTPError(.contentTooLarge, "the body is longer than the \(limit) bytes taken")
            }
            bytes.append(contentsOf: piece)
        }
        return bytes
    }

    /// The trailer fields of a chunked body, once it has been read to its end; empty before
    /// and for other bodies.
    public func trailers() async -> HTTPHeaders {
        await session.trailers(requestNumber: requestNumber)
    }
}

/// Writes a streamed response body (see ``HTTPResponseBody/stream(length:write:)``).
public struct HTTPBodyWriter: Sendable {
    let session: HTTPSession
    let requestNumber: Int

    /// Sends `bytes` as the next piece of the body, waiting while the client is slow to
    /// take them (at most ``HTTPServerOptions/writeTimeout`` without progress). Empty pieces
    /// are skipped. Throws when the connection has failed, or when the bytes would pass the
    /// declared length.
    public func write(_ bytes: [UInt8]) async throws {
        try await session.writeBody(bytes, requestNumber: requestNumber)
    }
}
