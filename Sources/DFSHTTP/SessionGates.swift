import DFSCore
import DFSNet

/// Where each connection of one ``HTTPServer`` stands (a ``RequestGate`` each), so that a
/// stopping server closes idle connections at once and busy ones after their response.
final class SessionGates: Sendable {
    private let gates = Mutex<[ObjectIdentifier: RequestGate]>([:])

    func register(_ connection: Connection) {
        gates.withLock { $0[ObjectIdentifier(connection)] = RequestGate() }
    }

    func unregister(_ connection: Connection) {
        _ = gates.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// A request has arrived; false when the server is stopping.
    func begin(_ connection: Connection) -> Bool {
        gates.withLock { $0[ObjectIdentifier(connection)]?.begin() ?? false }
    }

    /// Its response has gone; false when the server is stopping.
    func end(_ connection: Connection) -> Bool {
        gates.withLock { $0[ObjectIdentifier(connection)]?.end() ?? false }
    }

    func isDraining(_ connection: Connection) -> Bool {
        gates.withLock { $0[ObjectIdentifier(connection)]?.draining ?? true }
    }

    /// The server is stopping: closes `connection` now when it is between requests.
    func drain(_ connection: Connection) async {
        let idle = gates.withLock { gates -> Bool in
            guard gates[ObjectIdentifier(connection)] != nil else { return true }
            return gates[ObjectIdentifier(connection)]?.drain() ?? true
        }
        if idle { await connection.close() }
    }
}
