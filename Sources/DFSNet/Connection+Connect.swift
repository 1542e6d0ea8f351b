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

    /// Connects and says hello: the first exchange on every connection. With a cluster
    /// secret, the connection is TLS from its first byte (``startTLS(_:asServer:deadline:)``):
    /// nothing, `hello` included, is sent to a peer that has not proved the same secret.
    /// `timeout` bounds the TCP connect; `handshake` (default: the same) bounds the TLS
    /// handshake and the hello exchange, which a busy server may take longer to answer.
    public static func open(
        to endpoint: Endpoint, role: PeerRole, timeout: Duration, handshake: Duration? = nil, secret: ClusterSecret? = nil
    ) async throws -> Connection {
        let connection = try await connect(to: endpoint, timeout: timeout)
        do {
            let handshake = handshake ?? timeout
            if let secret {
                try await connection.startTLS(secret, asServer: false, deadline: .now + handshake)
            }
            try await connection.sayHello(role: role, endpoint: endpoint, timeout: handshake)
            return connection
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The client side of `hello`: the server answers with its protocol version.
    private func sayHello(role: PeerRole, endpoint: Endpoint, timeout: Duration) async throws {
        let reply = try await request(Hello(role: role), expecting: HelloOK.self, timeout: timeout)
        guard reply.protocolVersion == protocolVersion else {
            throw DFSError(.protocolError, "\(endpoint) speaks protocol version \(reply.protocolVersion); this dfs speaks \(protocolVersion)")
        }
    }
}
