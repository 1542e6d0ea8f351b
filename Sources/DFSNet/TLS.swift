import CTLS
import Crypto
import DFSCore
import DFSSystem
import Foundation

/// OpenSSL's TLS 1.3 contexts for a cluster secret: a client's, which offers the key of the
/// first secret, and a server's, which accepts the key of any of them (the secrets of a
/// rotation, see ``ClusterSecret``). The key is not the secret itself but an HMAC-SHA256 of a
/// fixed label under it; its identity on the wire is a hash of the key, so a server can tell
/// which secret a client used without learning anything an eavesdropper could use.
final class TLSContexts: @unchecked Sendable {
    let client: OpaquePointer
    let server: OpaquePointer

    /// The pre-shared key for `secret`: 32 bytes.
    static func key(for secret: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array("dfs tls 1.3 external psk, version 1".utf8), using: SymmetricKey(data: secret)))
    }

    /// A key's identity: "dfs-psk-" and 16 hex digits of its SHA-256.
    static func identity(of key: [UInt8]) -> [UInt8] {
        Array("dfs-psk-".utf8) + Array(Hex.encode(Array(SHA256.hash(data: key).prefix(8))).utf8)
    }

    init(secrets: [[UInt8]]) throws(DFSError) {
        precondition(!secrets.isEmpty, "TLS needs a secret")
        let keys = secrets.map(Self.key(for:))
        let identities = keys.map(Self.identity(of:))
        let keyBytes = keys[0].count
        let identityBytes = identities[0].count
        let flatKeys = keys.flatMap { $0 }
        let flatIdentities = identities.flatMap { $0 }
        func make(server: Bool) throws(DFSError) -> OpaquePointer {
            var reason = [CChar](repeating: 0, count: 256)
            let context = flatKeys.withUnsafeBufferPointer { keys in
                flatIdentities.withUnsafeBufferPointer { identities in
                    dfs_tls_context_new(
                        server ? 1 : 0, keys.baseAddress, keyBytes, identities.baseAddress, identityBytes, server ? secrets.count : 1, &reason,
                        reason.count)
                }
            }
            guard let context else {
                throw DFSError(.internalError, "cannot set up TLS: \(String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            }
            return context
        }
        let client = try make(server: false)
        do {
            server = try make(server: true)
        } catch {
            dfs_tls_context_free(client)
            throw error
        }
        self.client = client
    }

    deinit {
        dfs_tls_context_free(client)
        dfs_tls_context_free(server)
    }
}

/// One connection's TLS session over its socket. Used only on the connection's executor.
final class TLSSession {
    private let session: OpaquePointer
    /// Keeps the context alive as long as the session.
    private let contexts: TLSContexts

    init(contexts: TLSContexts, server: Bool, fd: Int32) throws(DFSError) {
        guard let session = dfs_tls_new(server ? contexts.server : contexts.client, fd) else {
            throw DFSError(.internalError, "cannot start a TLS session: out of memory")
        }
        self.session = session
        self.contexts = contexts
    }

    deinit {
        dfs_tls_free(session)
    }

    /// What a TLS call did.
    enum Outcome {
        case done(Int)
        case wantRead
        case wantWrite
        /// The peer's close_notify (a clean end).
        case closed
        /// The peer went away without one, or the session failed: the reason.
        case failed(String, eof: Bool)
    }

    private func outcome(_ result: Int) -> Outcome {
        switch result {
        case DFS_TLS_WANT_READ: return .wantRead
        case DFS_TLS_WANT_WRITE: return .wantWrite
        case DFS_TLS_EOF: return .failed(reason(), eof: true)
        case DFS_TLS_ERROR: return .failed(reason(), eof: false)
        default: return result == 0 ? .closed : .done(result)
        }
    }

    private func reason() -> String {
        var text = [CChar](repeating: 0, count: 256)
        dfs_tls_last_error(session, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func handshake() -> Outcome {
        let result = dfs_tls_handshake(session)
        return result == 1 ? .done(0) : outcome(Int(result))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Outcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        return outcome(dfs_tls_read(session, base, buffer.count))
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Outcome {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .done(0) }
        return outcome(dfs_tls_write(session, base, buffer.count))
    }

    /// Sends what earlier writes left in the session: `.done` when nothing is left.
    func flush() -> Outcome {
        let result = dfs_tls_flush(session)
        return result == 1 ? .done(0) : outcome(Int(result))
    }

    /// Bytes from the socket held in the session, not yet read.
    var hasPending: Bool { dfs_tls_has_pending(session) != 0 }

    func shutdown() {
        dfs_tls_shutdown(session)
    }
}
