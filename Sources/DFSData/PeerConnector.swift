import DFSCore
import DFSNet

/// Opens connections from this data node to another one: forwarding a block or a batch down
/// a pipeline, and sending a repair copy.
struct PeerConnector: Sendable {
    let timeouts: Timeouts
    let secret: ClusterSecret?

    /// A hung node accepts the connection but never answers hello: `stall`, not the
    /// handshake's 10 s, bounds the wait for it (and for the connection itself, when shorter
    /// than the connect timeout).
    func open(_ address: Endpoint, stall: Duration) async throws -> Connection {
        try await Connection.open(
            to: address, role: .dataNode, timeout: min(timeouts.connect, stall), handshake: stall, secret: secret)
    }
}
