import DFSCore

/// The request loop every server runs on each connection.
///
/// The peer must open with `hello` in the protocol's version. Then each frame goes to
/// `handle`, which replies on the connection. A `DFSError` thrown by `handle` is sent back
/// as an error frame and the connection goes on; a frame that cannot be decoded, a peer that
/// closes mid-frame or stays silent too long ends the connection, with one log line.
public enum FrameServer {
    public static func serve(
        _ connection: Connection,
        role: PeerRole,
        component: String,
        timeouts: Timeouts,
        handle: (Frame, Connection) async throws -> Void
    ) async {
        do {
            guard let first = try await connection.readFrame(timeout: timeouts.handshake) else { return }
            let hello = try first.decode(Hello.self)
            guard hello.protocolVersion == protocolVersion else {
                throw DFSError(.protocolError, "protocol version \(hello.protocolVersion) is not supported; this server speaks \(protocolVersion)")
            }
            try await connection.send(HelloOK(role: role), timeout: timeouts.request)
        } catch {
            await reject(connection, error: DFSError.wrap(error), component: component, timeouts: timeouts)
            return
        }
        while true {
            let frame: Frame
            do {
                guard let next = try await connection.readFrame(timeout: timeouts.idle) else { return }
                frame = next
            } catch {
                await reject(connection, error: DFSError.wrap(error), component: component, timeouts: timeouts)
                return
            }
            do {
                try await handle(frame, connection)
            } catch let error as DFSError where error.code != .connectionFailed && error.code != .timeout {
                // The request failed, not the connection: say why and serve the next one.
                if error.code == .internalError || error.code == .ioError {
                    Log.warn(component, "\(frame.type) from \(connection.peer) failed: \(error.message)")
                }
                do {
                    try await connection.send(ErrorMessage(error), timeout: timeouts.request)
                } catch {
                    return
                }
                // After a broken frame the stream may be out of step: better to start afresh.
                if error.code == .protocolError { return }
            } catch {
                Log.info(component, "connection from \(connection.peer) ended: \(DFSError.wrap(error).message)")
                return
            }
        }
    }

    /// Logs why a connection ends and, when the socket still works, tells the peer.
    private static func reject(_ connection: Connection, error: DFSError, component: String, timeouts: Timeouts) async {
        Log.info(component, "closing connection from \(connection.peer): \(error.message)")
        if error.code != .connectionFailed {
            try? await connection.send(ErrorMessage(error), timeout: .seconds(1))
        }
    }
}
