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
