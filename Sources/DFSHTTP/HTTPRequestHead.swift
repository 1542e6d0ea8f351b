/// A parsed request line and its header fields.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: HTTPMethod
    /// The request target as sent: origin-form (`/path?query`), absolute-form
    /// (`http://host/path?query`) or `*`.
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The target's path, still percent-encoded: `/` for an absolute-form target without
    /// one, `*` for the asterisk form.
    public var path: String
    /// The target's query without its `?`, still encoded; nil when there is none.
    public var query: String?

    public init(method: HTTPMethod, target: String, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        (path, query) = Self.split(target)
    }

    /// The path percent-decoded, or nil when it does not decode (a stray `%`, bytes that
    /// are not UTF-8). `+` stays a `+` in a path.
    public var decodedPath: String? { PercentDecoding.decode(path) }

    /// The query's `name=value` pairs, decoded, in order; empty without a query, nil when
    /// a part does not decode.
    public var queryItems: [(name: String, value: String)]? {
        guard let query else { return [] }
        return PercentDecoding.queryItems(query[...])
    }

    /// The decoded value of the first query parameter named `name`.
    public func queryValue(_ name: String) -> String? {
        queryItems?.first { $0.name == name }?.value
    }

    /// Whether the connection may carry another request after this one's response: HTTP/1.1
    /// unless the client asked to close; HTTP/1.0 never (this server does not do HTTP/1.0's
    /// keep-alive extension).
    public var allowsKeepAlive: Bool {
        version == .http1_1 && !headers.containsToken("close", in: "Connection")
    }

    /// Path and query of an origin-form or absolute-form target.
    static func split(_ target: String) -> (path: String, query: String?) {
        var rest = target[...]
        if !rest.hasPrefix("/") && rest != "*", let schemeEnd = rest.range(of: "://") {
            // Absolute form: the authority ends at the first '/' or '?' after the scheme.
            let afterAuthority = rest[schemeEnd.upperBound...]
            let pathStart = afterAuthority.firstIndex { $0 == "/" || $0 == "?" } ?? afterAuthority.endIndex
            rest = afterAuthority[pathStart...]
        }
        let question = rest.firstIndex(of: "?")
        var path = String(question.map { rest[..<$0] } ?? rest)
        if path.isEmpty { path = "/" }
        return (path, question.map { String(rest[rest.index(after: $0)...]) })
    }
}
