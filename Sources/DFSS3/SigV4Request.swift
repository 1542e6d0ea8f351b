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

/// How the body of a verified request is to be read, from `x-amz-content-sha256`.
public enum SigV4Payload: Sendable, Equatable {
    /// A hex SHA-256 of the body (lower case): the handler checks the body against it.
    case sha256(String)
    /// `UNSIGNED-PAYLOAD`, and every presigned URL.
    case unsigned
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, or with `trailer` `...-PAYLOAD-TRAILER`: an
    /// aws-chunked body whose chunks are signed.
    case streamingSigned(trailer: Bool)
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: an aws-chunked body with a checksum trailer.
    case streamingUnsignedTrailer

    /// True when the body is aws-chunked and goes through ``AWSChunkedDecoder``.
    public var isStreaming: Bool {
        switch self {
        case .sha256, .unsigned: false
        case .streamingSigned, .streamingUnsignedTrailer: true
        }
    }
}

/// A request whose signature was checked.
public struct SigV4Verified: Sendable {
    public let accessKey: String
    public let payload: SigV4Payload
    /// For streaming payloads with signed chunks: what ``AWSChunkedDecoder`` needs to verify
    /// the chunk and trailer signatures. Nil otherwise.
    public let chunkSigning: ChunkSigning?
}
