import DFSCore

/// The meta servers of one cluster (the active one and its standbys) and the one to talk to
/// now, shared by every request of a client or a data node.
///
/// Requests go to ``current``. A server that cannot be reached (refused, reset, timed out)
/// passes the turn to the next address of the list; a standby's `notActive` answer moves
/// straight to the active server it names (which may be an address the list does not
/// have: the standbys know it). The retries that ride out a meta server restart ride out a
/// failover the same way: each try goes to whoever is current then.
public final class MetaServers: Sendable, CustomStringConvertible {
    /// Every address named, in order.
    public let all: [Endpoint]
    private let state: Mutex<(current: Endpoint, index: Int)>

    public init(_ endpoints: [Endpoint]) {
        precondition(!endpoints.isEmpty, "a cluster needs a meta server")
        all = endpoints
        state = Mutex((endpoints[0], 0))
    }

    public convenience init(_ endpoint: Endpoint) {
        self.init([endpoint])
    }

    /// The server requests go to now.
    public var current: Endpoint { state.withLock { $0.current } }

    public var description: String { Endpoint.listDescription(all) }

    /// Learns from a failed request to `endpoint`: a connection that failed or timed out
    /// moves on to the next address; a standby's answer moves to the server it names, or to
    /// the next address when it names none. Other errors change nothing. Only the first
    /// request to fail at the current server moves the turn: later ones that tried the same
    /// server find it moved already.
    public func note(_ error: any Error, from endpoint: Endpoint) {
        let error = DFSError.wrap(error)
        switch error.code {
        case .notActive:
            if let active = error.active, active != endpoint {
                follow(active, from: endpoint)
            } else {
                advance(from: endpoint)
            }
        case .connectionFailed, .timeout:
            advance(from: endpoint)
        default:
            break
        }
    }

    /// The next address of the list after `endpoint`, if `endpoint` is still current.
    private func advance(from endpoint: Endpoint) {
        guard all.count > 1 else { return }
        state.withLock { state in
            guard state.current == endpoint else { return }
            let index = all.firstIndex(of: endpoint).map { ($0 + 1) % all.count } ?? (state.index + 1) % all.count
            state = (all[index], index)
        }
    }

    /// `active`, as a standby at `endpoint` named it, if `endpoint` is still current.
    private func follow(_ active: Endpoint, from endpoint: Endpoint) {
        state.withLock { state in
            guard state.current == endpoint else { return }
            state = (active, all.firstIndex(of: active) ?? state.index)
        }
    }
}

extension ConnectionPool {
    /// `request` to the current meta server of `metas`; a failure tells `metas` (see
    /// ``MetaServers/note(_:from:)``) before it is thrown.
    public func request<Request: Message, Reply: Message>(
        _ request: Request, to metas: MetaServers, expecting: Reply.Type, resendOnStale: Bool = true
    ) async throws -> Reply {
        let endpoint = metas.current
        do {
            return try await self.request(request, to: endpoint, expecting: Reply.self, resendOnStale: resendOnStale)
        } catch {
            metas.note(error, from: endpoint)
            throw error
        }
    }

    /// ``withConnection(to:handshake:_:)`` with the current meta server of `metas`.
    public func withConnection<T: Sendable>(to metas: MetaServers, _ body: (Connection) async throws -> T) async throws -> T {
        let endpoint = metas.current
        do {
            return try await withConnection(to: endpoint, body)
        } catch {
            metas.note(error, from: endpoint)
            throw error
        }
    }
}
