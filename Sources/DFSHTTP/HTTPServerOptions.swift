import DFSCore

/// The limits and timeouts of one ``HTTPServer``. Defaults are ``HTTPLimits``' and the
/// timeouts below; tests shorten them.
public struct HTTPServerOptions: Sendable {
    public var requestLineBytesMax = HTTPLimits.requestLineBytesMax
    public var headerBytesMax = HTTPLimits.headerBytesMax
    public var headerFieldsMax = HTTPLimits.headerFieldsMax
    public var bufferedBodyBytesMax = HTTPLimits.bufferedBodyBytesMax
    public var chunkLineBytesMax = HTTPLimits.chunkLineBytesMax
    public var connectionsMax = HTTPLimits.connectionsMax
    /// A whole request head must arrive within this time of its first byte, or the client
    /// is answered 408 and cut off: a client that trickles a head byte by byte (slowloris)
    /// holds its slot 10 s at most.
    public var headerTimeout: Duration = .seconds(10)
    /// A connection that starts no request for this long is closed without a word. Browsers
    /// and Prometheus reuse a connection within seconds; 60 s is what common servers allow.
    public var idleTimeout: Duration = .seconds(60)
    /// The longest wait for the next bytes of a request body; a body that stops arriving
    /// for longer ends the connection (408 to the handler that reads it).
    public var bodyTimeout: Duration = .seconds(30)
    /// The longest wait for the client to take the next bytes of a response.
    public var writeTimeout: Duration = .seconds(30)
    /// After refusing a request, the server half-closes and reads what the client still
    /// sends for up to this long before closing, so the close does not reset the connection
    /// before the client has read the answer.
    public var lingerTimeout: Duration = .seconds(2)
    /// The `Server` header of every response.
    public var serverName = "dfs"
    /// The name in log lines.
    public var component = "http"

    public init() {}
}
