/// What the verifier needs of a request, as it came over the wire.
public struct SigV4Request: Sendable {
    /// The method, as sent: `GET`.
    public var method: String
    /// The request target's path exactly as sent, percent-encoded: `/b/a%20b`.
    public var rawPath: String
    /// What follows `?` in the request target, as sent; empty when there is none.
    public var rawQuery: String
    /// The headers in the order received; names in any case.
    public var headers: [(name: String, value: String)]

    public init(method: String, rawPath: String, rawQuery: String, headers: [(name: String, value: String)]) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
    }

    /// The values of every header called `name` (any case), in order.
    func values(of name: String) -> [String] {
        headers.compactMap { $0.name.lowercased() == name ? $0.value : nil }
    }

    /// The value of the header `name`, several joined with `,` as the canonical request joins them.
    func value(of name: String) -> String? {
        let values = values(of: name)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}
