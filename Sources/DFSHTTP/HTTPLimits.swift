/// Limits of the HTTP server: every buffer it keeps and every wait it makes is bounded.
/// Each says why it has its value; ``HTTPServerOptions`` takes them as defaults (tests set
/// smaller ones).
public enum HTTPLimits {
    /// Bytes of a request line, empty lines before it included, without its CRLF. RFC 9112
    /// asks for at least 8,000; a longer line is answered 414 (URI Too Long).
    public static let requestLineBytesMax = 8 * 1024
    /// Bytes of the header fields after the request line, up to and including the empty
    /// line that ends them (and the same for a chunked body's trailers). Clients send a few
    /// hundred bytes; S3 clients' signed headers a few KiB. More is answered 431.
    public static let headerBytesMax = 32 * 1024
    /// Header fields of one request (and trailer fields of one chunked body). More is
    /// answered 431, so no request makes the server keep a long list of small fields.
    public static let headerFieldsMax = 100
    /// A body a handler takes whole into memory (``HTTPRequestBody/collect(maxBytes:)``);
    /// larger bodies must be read in pieces. Longer is answered 413 (Content Too Large).
    public static let bufferedBodyBytesMax = 1024 * 1024
    /// A chunk-size line of a chunked body, extensions included: clients send a few hex
    /// digits and rarely an extension.
    public static let chunkLineBytesMax = 4096
    /// Connections served at once; the next is answered 503 and closed. HTTP serves
    /// operators and monitoring, not the cluster's own traffic.
    public static let connectionsMax = 256
    /// Bytes read at a time while a request head arrives: a head fits in one read, and an
    /// idle connection holds no buffer at all.
    public static let headReadBytes = 4096
    /// The largest piece of a body one read hands to a handler.
    public static let bodyReadBytesMax = 64 * 1024
    /// Bytes of a body its handler did not read that the server reads and drops to keep the
    /// connection for the next request; past this it closes the connection instead.
    public static let discardedBodyBytesMax = 64 * 1024
    /// Bytes read and dropped after refusing a request, before the socket is closed (see
    /// ``HTTPServerOptions/lingerTimeout``).
    public static let lingerBytesMax = 256 * 1024
}
