import DFSCore
import DFSSystem
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Accepts TCP connections and hands each to `handler` in its own task.
///
/// Connections still in their handshake (not yet past `hello`, and with a secret not yet
/// past TLS) are counted apart: at most ``Limits/handshakingConnectionsMax`` of them, and
/// ``Limits/handshakingConnectionsPerAddressMax`` from one address; a new one over either
/// limit takes the place of the oldest such connection, which is closed. Past the handshake,
/// at most `connectionsMax` connections are served at once; the next one gets an error frame
/// and is closed. So a flood of connections that never finish a handshake can neither
/// exhaust file descriptors or memory nor keep a member out.
public actor Listener {
    private let executor = QueueExecutor(label: "dfs.listener")
    nonisolated public var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let fd: Int32
    /// The address the socket is bound to, with the real port when 0 was asked for.
    public nonisolated let endpoint: Endpoint
    public nonisolated let connectionsMax: Int
    private let component: String
    private var source: (any DispatchSourceRead)?
    private var handler: (@Sendable (Connection) async -> Void)?
    private var active: [ObjectIdentifier: Connection] = [:]
    /// Connections in their handshake, oldest first, with the address each came from.
    private var handshaking: [(key: ObjectIdentifier, host: String)] = []
    public nonisolated let handshakingMax: Int
    public nonisolated let handshakingPerAddressMax: Int
    private var tasks: [ObjectIdentifier: Task<Void, Never>] = [:]
    private var closed = false
    private var cancelWaiter: CheckedContinuation<Void, Never>?
    /// Where accepted connections run: nil gives each a queue of its own.
    private let connectionExecutor: QueueExecutor?
    /// What a connection over ``connectionsMax`` is sent before it is closed: nil sends an
    /// error frame; a server of another protocol (HTTP) gives its own answer.
    private let refusal: [UInt8]?
    /// False for a protocol without a handshake (HTTP): no connection is counted as in one,
    /// and every connection counts against ``connectionsMax`` from the start.
    private let countsHandshakes: Bool

    /// With `connectionExecutor`, every accepted connection runs on that executor (see
    /// ``Connection``): a server whose answers come from one actor anyway (the meta server's
    /// store) saves the hand-off between threads on each request, the costliest step of a
    /// small request on a machine where waking another CPU's thread takes tens of µs.
    /// `refusal` and `countsHandshakes` serve other protocols than the frames' (see their
    /// properties).
    public init(
        host: String, port: Int, connectionsMax: Int = Limits.connectionsMax, component: String, connectionExecutor: QueueExecutor? = nil,
        handshakingMax: Int = Limits.handshakingConnectionsMax, handshakingPerAddressMax: Int = Limits.handshakingConnectionsPerAddressMax,
        refusal: [UInt8]? = nil, countsHandshakes: Bool = true
    ) throws {
        self.refusal = refusal
        self.countsHandshakes = countsHandshakes
        self.handshakingMax = handshakingMax
        self.handshakingPerAddressMax = handshakingPerAddressMax
        self.connectionExecutor = connectionExecutor
        fd = try Socket.listen(host: host, port: port)
        let bound = Socket.localEndpoint(fd)
        endpoint = Endpoint(host: host, port: bound?.port ?? port)
        self.connectionsMax = connectionsMax
        self.component = component
    }

    /// Starts accepting. Returns at once; connections are served until ``close()``.
    public func start(_ handler: @escaping @Sendable (Connection) async -> Void) {
        precondition(source == nil, "listener started twice")
        self.handler = handler
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: executor.queue)
        source.setEventHandler { [self] in self.assumeIsolated { $0.acceptAll() } }
        source.setCancelHandler { [self] in self.assumeIsolated { $0.sourceCancelled() } }
        self.source = source
        source.activate()
    }

    /// The number of connections being served, handshakes included.
    public var connectionCount: Int { active.count }

    /// The number of connections still in their handshake.
    public var handshakingCount: Int { handshaking.count }

    private func acceptAll() {
        while !closed {
            // Non-blocking and close-on-exec from the start.
            let client: Int32
            let storage: sockaddr_storage
            switch SocketCalls.accept(fd, subject: endpoint.description) {
            case .accepted(let socket, let address): (client, storage) = (socket, address)
            case .wouldBlock: return
            case .failed(let error) where error.errno == .tooManyOpenFiles || error.errno == .tooManyOpenFilesInSystem:
                Log.warn(component, "cannot accept a connection: \(error.reason)")
                return
            case .failed(let error):
                Log.warn(component, "accept failed: \(error.reason)")
                return
            }
            Socket.setNoDelay(client)
            let peer = Socket.endpoint(from: storage) ?? Endpoint(host: "unknown", port: 0)
            if active.count - handshaking.count >= connectionsMax {
                refuse(client, peer: peer)
                continue
            }
            if countsHandshakes { makeRoomForHandshake(from: peer.host) }
            let connection: Connection
            do {
                connection = try Connection(fd: client, peer: peer, executor: connectionExecutor)
            } catch {
                Log.warn(component, "cannot serve a connection from \(peer): \(DFSError.wrap(error).message)")
                SocketCalls.close(client)
                continue
            }
            let key = ObjectIdentifier(connection)
            active[key] = connection
            if countsHandshakes {
                handshaking.append((key, peer.host))
                connection.onHandshakeFinished { [self] in
                    Task { await self.handshakeDone(key) }
                }
            }
            let handler = self.handler!
            tasks[key] = Task {
                await handler(connection)
                await connection.close()
                await self.finished(key)
            }
        }
    }

    /// Closes the oldest connection still in its handshake from `host` when that address has
    /// its share, else the oldest of all when there are as many as allowed.
    private func makeRoomForHandshake(from host: String) {
        var victim: Int?
        if handshaking.count(where: { $0.host == host }) >= handshakingPerAddressMax {
            victim = handshaking.firstIndex { $0.host == host }
        } else if handshaking.count >= handshakingMax {
            victim = 0
        }
        guard let victim else { return }
        let key = handshaking.remove(at: victim).key
        if let connection = active[key] {
            Log.info(component, "closing a connection from \(connection.peer) still in its handshake, to make room for a new one")
            Task { await connection.close() }
        }
    }

    private func handshakeDone(_ key: ObjectIdentifier) {
        handshaking.removeAll { $0.key == key }
    }

    /// Tells a peer over the limit why it is refused, without waiting for it.
    private func refuse(_ client: Int32, peer: Endpoint) {
        Log.warn(component, "refused connection from \(peer): \(connectionsMax) connections already open")
        if let refusal {
            SocketCalls.sendWithoutWaiting(client, refusal)
            SocketCalls.close(client)
            return
        }
        let error = DFSError(.unavailable, "server busy: \(connectionsMax) connections already open; try again later", transient: true)
        if let bytes = try? FrameEncoder.frame(ErrorMessage(error)) {
            SocketCalls.sendWithoutWaiting(client, bytes)
        }
        SocketCalls.close(client)
    }

    private func sourceCancelled() {
        SocketCalls.close(fd)
        cancelWaiter?.resume()
        cancelWaiter = nil
    }

    private func finished(_ key: ObjectIdentifier) {
        active[key] = nil
        handshaking.removeAll { $0.key == key }
        tasks[key] = nil
    }

    /// Stops accepting and closes every connection, then waits for their handlers to end.
    /// With a `grace`, connections waiting for their next request close at once, and those
    /// in the middle of one get up to `grace` to finish it: `drain` tells each connection's
    /// server loop that the server stops (``FrameServer/drain(_:)`` for frames).
    public func close(grace: Duration = .zero, drain: @Sendable (Connection) async -> Void = { await FrameServer.drain($0) }) async {
        guard !closed else { return }
        closed = true
        if let source {
            // The port is free only once the socket is closed, which the cancel handler does.
            await withCheckedContinuation { continuation in
                cancelWaiter = continuation
                source.cancel()
            }
        } else {
            SocketCalls.close(fd)
        }
        let connections = Array(active.values)
        let running = Array(tasks.values)
        if grace > .zero {
            for connection in connections { await drain(connection) }
            let deadline = ContinuousClock.now + grace
            while !tasks.isEmpty && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        for connection in connections { await connection.close() }
        for task in running {
            task.cancel()
            await task.value
        }
    }
}
