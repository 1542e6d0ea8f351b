/// How a request's body is delimited, decided from its head (RFC 9112 §6.3), and the
/// head's other checks that must pass before a handler sees it.
enum HTTPBodyFraming: Equatable, Sendable {
    /// No body.
    case none
    /// `Content-Length` bytes.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked

    /// The framing of `head`'s body. Refuses what could be read two ways: both
    /// `Content-Length` and `Transfer-Encoding` (a request smuggling trick), lengths that
    /// disagree, `Transfer-Encoding` in HTTP/1.0; answers 501 to a coding other than chunked.
    static func of(_ head: HTTPRequestHead) throws(HTTPError) -> HTTPBodyFraming {
        let headers = head.headers
        if headers.contains("Transfer-Encoding") {
            guard head.version == .http1_1 else { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            guard !headers.contains("Content-Length") else { throw .badRequest("both Content-Length and Transfer-Encoding") }
            let codings = headers.elements(for: "Transfer-Encoding").map { $0.lowercased() }
            if let other = codings.first(where: { $0 != "chunked" }) {
                throw HTTPError(.notImplemented, "transfer coding '\(other)' is not supported; only chunked is")
            }
            guard codings.count == 1 else { throw .badRequest("Transfer-Encoding must name chunked once") }
            return .chunked
        }
        let lengths = headers.elements(for: "Content-Length")
        guard let first = lengths.first else {
            if headers.contains("Content-Length") { throw .badRequest("an empty Content-Length") }
            return .none
        }
        guard lengths.allSatisfy({ $0 == first }) else { throw .badRequest("Content-Length values disagree") }
        guard let length = parseLength(first) else { throw .badRequest("Content-Length is not a number of bytes") }
        return length == 0 ? .none : .length(length)
    }

    /// Decimal digits only (no sign, no space), and small enough for an Int.
    static func parseLength(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(text)
    }

    /// The checks of a head beyond its syntax: HTTP/1.1 requires exactly one `Host`
    /// (RFC 9112 §3.2), and the one expectation there is is `100-continue` (417 otherwise).
    /// Returns whether the client waits for `100 Continue` before sending its body.
    static func checkHead(_ head: HTTPRequestHead) throws(HTTPError) -> Bool {
        if head.version == .http1_1 {
            guard head.headers.values(for: "Host").count == 1 else { throw .badRequest("an HTTP/1.1 request needs one Host field") }
        }
        let expectations = head.headers.elements(for: "Expect")
        guard !expectations.isEmpty else { return false }
        guard expectations.count == 1, expectations[0].lowercased() == "100-continue" else {
            throw HTTPError(.expectationFailed, "the only expectation this server meets is 100-continue")
        }
        // An HTTP/1.0 client cannot be sent an interim response (RFC 9110 §10.1.1).
        return head.version == .http1_1
    }
}
