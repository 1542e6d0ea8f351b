import DFSCore
import DFSNet

/// An HTTP/1.1 server on DFSNet's transport: a ``Listener`` whose connections each run an
/// ``HTTPSession`` that parses requests, calls the handler and writes its responses.
///
/// ```swift
/// let server = try HTTPServer(host: "127.0.0.1", port: 0)
/// await server.start { request in
///     try request.requireMethod([.get, .head])
///     return .text(.ok, "hello\n")
/// }
/// print(server.endpoint)  // the real port
/// await server.close(grace: .seconds(5))
/// ```
///
/// At most ``HTTPServerOptions/connectionsMax`` connections are served; the next is
/// answered 503 and closed.
public final class HTTPServer: Sendable {
    /// The address the server listens on, with the real port when 0 was asked for.
    public let endpoint: Endpoint
    public let options: HTTPServerOptions
    private let listener: Listener
    private let gates = SessionGates()

    /// Binds `host:port` (an empty host means every interface; port 0 picks a free port).
    /// Throws when the address cannot be bound.
    public init(host: String, port: Int, options: HTTPServerOptions = HTTPServerOptions()) throws {
        precondition(
            options.requestLineBytesMax > 0 && options.headerBytesMax > 0 && options.headerFieldsMax > 0 && options.connectionsMax > 0
                && options.chunkLineBytesMax > 0 && options.bufferedBodyBytesMax >= 0,
            "HTTP limits must be positive")
        self.options = options
        let busy = HTTPError(.serviceUnavailable, "server busy: \(options.connectionsMax) connections already open; try again later")
        listener = try Listener(
            host: host, port: port, connectionsMax: options.connectionsMax, component: options.component,
            refusal: HTTPResponseEncoder.refusal(busy, serverName: options.serverName, date: nil), countsHandshakes: false)
        endpoint = listener.endpoint
    }

    /// Starts serving with `handler`. Returns at once; requests are served until ``close(grace:)``.
    public func start(_ handler: @escaping HTTPHandler) async {
        let options = options
        let gates = gates
        await listener.start { connection in
            gates.register(connection)
            let session = HTTPSession(connection: connection, options: options, gates: gates, handler: handler)
            await session.run()
            gates.unregister(connection)
        }
    }

    /// The number of connections being served.
    public var connectionCount: Int {
        get async { await listener.connectionCount }
    }

    /// Stops accepting, closes the connections waiting for a request, gives those in the
    /// middle of one up to `grace` to send their response, then closes the rest.
    public func close(grace: Duration = .zero) async {
        let gates = gates
        await listener.close(grace: grace) { await gates.drain($0) }
    }
}
