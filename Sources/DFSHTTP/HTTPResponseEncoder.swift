/// The bytes of a response head: status line, the server's fields, the handler's, framing.
enum HTTPResponseEncoder {
    /// How the body that follows the head is delimited.
    enum Framing: Equatable {
        /// No body and no framing field (1xx, 204, 304).
        case none
        case length(Int)
        case chunked
        /// The body runs to the end of the connection (a stream to an HTTP/1.0 client).
        case untilClose
    }

    /// Fields the server sets itself; a handler's are dropped.
    static let serverFields = ["Content-Length", "Transfer-Encoding", "Connection"]

    /// A nil `date` leaves the `Date` field out (a response made before the clock is read).
    static func head(status: HTTPStatus, headers: HTTPHeaders, framing: Framing, close: Bool, serverName: String, date: String?) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        if let date, !headers.contains("Date") { text += "Date: \(date)\r\n" }
        if !headers.contains("Server") { text += "Server: \(serverName)\r\n" }
        for field in headers where !serverFields.contains(where: { HTTPHeaders.namesMatch($0, field.name) }) {
            text += "\(field.name): \(field.value)\r\n"
        }
        switch framing {
        case .none, .untilClose: break
        case .length(let count): text += "Content-Length: \(count)\r\n"
        case .chunked: text += "Transfer-Encoding: chunked\r\n"
        }
        if close { text += "Connection: close\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The line before a chunk's data; after the first chunk it starts with the CRLF that
    /// ends the chunk before, so each chunk leaves in one send without copying its data.
    static func chunkPrefix(byteCount: Int, first: Bool) -> [UInt8] {
        Array(((first ? "" : "\r\n") + String(byteCount, radix: 16) + "\r\n").utf8)
    }

    /// The last chunk and the end of the body (no trailers).
    static func lastChunk(afterData: Bool) -> [UInt8] {
        Array(((afterData ? "\r\n" : "") + "0\r\n\r\n").utf8)
    }

    /// A complete response for a refused connection or request, ending the connection.
    static func refusal(_ error: HTTPError, serverName: String, date: String?) -> [UInt8] {
        let response = error.response
        guard case .bytes(let body) = response.body else { return [] }
        return head(status: response.status, headers: response.headers, framing: .length(body.count), close: true, serverName: serverName, date: date)
            + body
    }
}
