import DFSCore
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Connection {
    /// Opens a TCP connection to `endpoint` without blocking a thread on connect(2).
    ///
    /// Errors read as a person would want them: `cannot connect to HOST:PORT: connection refused`.
    public static func connect(to endpoint: Endpoint, timeout: Duration) async throws -> Connection {
        let host = endpoint.host.isEmpty ? "127.0.0.1" : endpoint.host
        let addresses = try await BlockingIO.run { try Socket.resolve(host: host, port: endpoint.port, passive: false) }
        var lastError = DFSError(.connectionFailed, "cannot connect to \(endpoint): no address")
        let deadline = ContinuousClock.now + timeout
        for candidate in addresses {
            let fd: Int32
            do throws(SystemError) {
                fd = try SocketCalls.openStream(family: candidate.family, for: endpoint.description)
            } catch {
                lastError = DFSError(.connectionFailed, "cannot connect to \(endpoint): \(error.reason)")
                continue
            }
            Socket.setNoDelay(fd)
            let connected: Bool
            do throws(SystemError) {
                connected = try SocketCalls.startConnect(fd, to: candidate.address, length: candidate.length, subject: endpoint.description)
            } catch {
                SocketCalls.close(fd)
                lastError = DFSError(.connectionFailed, "cannot connect to \(endpoint): \(error.reason)")
                continue
            }
            let peer = Socket.endpoint(from: candidate.address) ?? endpoint
            let connection: Connection
            do {
                connection = try Connection(fd: fd, peer: peer, name: endpoint.description)
            } catch let error as DFSError {
                SocketCalls.close(fd)
                lastError = error
                continue
            }
            do {
                if !connected { try await connection.finishConnect(deadline: deadline) }
                return connection
            } catch let error as DFSError {
                await connection.close()
                lastError =
                    error.code == .timeout
                    ? DFSError(.connectionFailed, "cannot connect to \(endpoint): timed out") : error
            }
        }
        throw lastError
    }

    /// Connects and says hello: the first exchange on every connection. When the server has
    /// a cluster secret, both sides prove they know it before anything else is said.
    /// `timeout` bounds the TCP connect; `handshake` (default: the same) bounds each
    /// message of the hello exchange, which a busy server may take longer to answer.
    public static func open(
        to endpoint: Endpoint, role: PeerRole, timeout: Duration, handshake: Duration? = nil, secret: ClusterSecret? = nil
    ) async throws -> Connection {
        let connection = try await connect(to: endpoint, timeout: timeout)
        do {
            try await connection.sayHello(role: role, endpoint: endpoint, timeout: handshake ?? timeout, secret: secret)
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The client side of the handshake: `hello`, and `auth` when the server asks for it.
    private func sayHello(role: PeerRole, endpoint: Endpoint, timeout: Duration, secret: ClusterSecret?) async throws {
        let clientNonce = ClusterSecret.nonce()
        let reply = try await request(Hello(role: role, nonce: clientNonce), expecting: HelloOK.self, timeout: timeout)
        guard reply.protocolVersion == protocolVersion else {
            throw DFSError(.protocolError, "\(endpoint) speaks protocol version \(reply.protocolVersion); this dfs speaks \(protocolVersion)")
        }
        guard reply.authRequired == true else { return }
        let proof = try Self.proof(answering: reply, clientNonce: clientNonce, secret: secret, endpoint: endpoint)
        _ = try await request(Auth(proof: proof), expecting: OK.self, timeout: timeout)
    }

    /// Checks the server's proof and makes ours.
    private static func proof(answering reply: HelloOK, clientNonce: String, secret: ClusterSecret?, endpoint: Endpoint) throws -> String {
        guard let secret else {
            throw DFSError(.unauthorized, "\(endpoint) needs the cluster secret: set DFS_SECRET or pass --secret-file")
        }
        guard let serverNonce = reply.nonce, let serverProof = reply.proof,
            secret.checkServerProof(serverProof, clientNonce: clientNonce, serverNonce: serverNonce)
        else {
            throw DFSError(.unauthorized, "\(endpoint) has a different cluster secret")
        }
        return secret.clientProof(clientNonce: clientNonce, serverNonce: serverNonce)
    }
}
