import DFSCore

/// The request loop every server runs on each connection.
///
/// The peer must open with `hello` in the protocol's version. Then each frame goes to
/// `handle`, which replies on the connection. A `DFSError` thrown by `handle` is sent back
/// as an error frame and the connection goes on (a request refused for a bad value while it
/// was decoded too); a frame that is not well formed (`protocolError`), a peer that closes
/// mid-frame or stays silent too long ends the connection, with one log line.
///
/// The loop runs on the connection's own executor, and so does `handle` (its connection is
/// `isolated`): reading a request and sending its reply cost no hop between threads; only
/// the work a handler hands to another actor does.
///
/// The server's bookkeeping of requests is kept here too, one ``RequestGate`` per connection
/// being served, so that a stopping server (``drain(_:)``) lets each request under way finish
/// and closes only idle connections. The transport (`Connection`) knows nothing of requests.
public enum FrameServer {
    /// Told of every request answered: its message type, the time from its arrival to its
    /// answer, and whether it failed (the server's metrics).
    public typealias RequestObserver = @Sendable (_ type: String, _ duration: Duration, _ failed: Bool) -> Void

    /// The gate of every connection being served in this process, by connection. An entry
    /// lives exactly as long as its ``serve(_:role:component:timeouts:secret:observe:handle:)``.
    private static let gates = Mutex<[ObjectIdentifier: RequestGate]>([:])

    public static func serve(
        _ connection: isolated Connection,
        role: PeerRole,
        component: String,
        timeouts: Timeouts,
        secret: ClusterSecret? = nil,
        observe: RequestObserver? = nil,
        handle: @Sendable (Frame, isolated Connection) async throws -> Void
    ) async {
        let key = ObjectIdentifier(connection)
        gates.withLock { $0[key] = RequestGate() }
        defer { gates.withLock { $0[key] = nil } }
        do {
            // The whole handshake, proof included, must fit in one deadline: a peer that
            // connects and says nothing, or trickles, loses its slot.
            let deadline = ContinuousClock.now + timeouts.handshake
            if let secret {
                // A peer without the secret opens with a plain `hello`: tell it why it is
                // refused, in plain text, instead of failing a TLS handshake it never started.
                guard let first = try await connection.peekFirstByte(deadline: deadline) else { return }
                guard first == Connection.tlsRecordStart else {
                    // Its hello is read first: closing a socket with unread bytes resets it,
                    // and the reset could overtake the refusal.
                    connection.limitFrames(headerBytesMax: Limits.helloHeaderBytesMax, payloadBytesMax: 0)
                    _ = try? await connection.readFrame(before: deadline)
                    throw DFSError(.unauthorized, "this cluster needs the cluster secret: set DFS_SECRET or pass --secret-file")
                }
                try await connection.startTLS(secret, asServer: true, deadline: deadline)
            }
            connection.limitFrames(headerBytesMax: Limits.helloHeaderBytesMax, payloadBytesMax: 0)
            guard let first = try await connection.readFrame(before: deadline) else { return }
            let hello = try first.decode(Hello.self)
            guard hello.protocolVersion == protocolVersion else {
                throw DFSError(.protocolError, "protocol version \(hello.protocolVersion) is not supported; this server speaks \(protocolVersion)")
            }
            try await connection.send(HelloOK(role: role), timeout: ContinuousClock.now.duration(to: deadline))
            connection.limitFrames(headerBytesMax: Limits.headerBytesMax, payloadBytesMax: Limits.payloadBytesMax)
            connection.handshakeFinished()
        } catch {
            await reject(connection, error: DFSError.wrap(error), component: component, timeouts: timeouts)
            return
        }
        while true {
            let frame: Frame
            do {
                guard let next = try await connection.readFrame(idle: timeouts.idle, frame: timeouts.request) else { return }
                frame = next
            } catch {
                await reject(connection, error: DFSError.wrap(error), component: component, timeouts: timeouts)
                return
            }
            guard beginRequest(connection) else { return }
            let started = ContinuousClock.now
            do {
                try await handle(frame, connection)
                observe?(frame.type, ContinuousClock.now - started, false)
                guard endRequest(connection) else { return }
            } catch let error as DFSError where error.code != .connectionFailed && error.code != .timeout {
                observe?(frame.type, ContinuousClock.now - started, true)
                // The request failed, not the connection: say why and serve the next one.
                if error.code == .internalError || error.code == .ioError {
                    Log.warn(component, "\(frame.type) from \(connection.peer) failed: \(error.message)")
                }
                do {
                    try await connection.send(ErrorMessage(error), timeout: timeouts.request)
                } catch {
                    return
                }
                guard endRequest(connection) else { return }
                // After a broken frame the stream may be out of step: better to start afresh.
                if error.code == .protocolError { return }
            } catch {
                observe?(frame.type, ContinuousClock.now - started, true)
                _ = endRequest(connection)
                Log.info(component, "connection from \(connection.peer) ended: \(DFSError.wrap(error).message)")
                return
            }
        }
    }

    /// The server is stopping: a connection between requests closes now, one in the middle
    /// of a request once it has been answered. A connection not (or not yet) served here is
    /// idle, and closes now.
    public static func drain(_ connection: Connection) async {
        let idle = gates.withLock { gates in
            guard gates[ObjectIdentifier(connection)] != nil else { return true }
            return gates[ObjectIdentifier(connection)]!.drain()
        }
        if idle { await connection.close() }
    }

    /// A request has arrived on `connection`. False when the server is stopping: the request
    /// is not taken and the connection should end.
    private static func beginRequest(_ connection: Connection) -> Bool {
        gates.withLock { $0[ObjectIdentifier(connection)]?.begin() ?? true }
    }

    /// The request on `connection` has been answered. False when the server is stopping: the
    /// connection is closed and should end.
    private static func endRequest(_ connection: isolated Connection) -> Bool {
        let open = gates.withLock { $0[ObjectIdentifier(connection)]?.end() ?? true }
        if !open { connection.close() }
        return open
    }

    /// Logs why a connection ends and, when the socket still works, tells the peer.
    private static func reject(_ connection: isolated Connection, error: DFSError, component: String, timeouts: Timeouts) async {
        if error.code == .unauthorized {
            Log.warn(component, "refused \(connection.peer): \(error.message)")
        } else {
            Log.info(component, "closing connection from \(connection.peer): \(error.message)")
        }
        if error.code != .connectionFailed {
            try? await connection.send(ErrorMessage(error), timeout: .seconds(1))
        }
    }
}
