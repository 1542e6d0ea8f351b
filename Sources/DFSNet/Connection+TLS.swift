import DFSCore
import DFSSystem

extension Connection {
    /// The first byte of a TLS handshake record (ContentType handshake, RFC 8446 5.1); a dfs
    /// frame starts with the high byte of its header length, which is 0.
    public static let tlsRecordStart: UInt8 = 0x16

    /// Runs the TLS 1.3 handshake with the cluster secret's key, as the connecting side or
    /// the accepting one, before anything else is said. Afterwards every byte both ways is
    /// encrypted and authenticated. Throws `unauthorized` when the peer does not prove the
    /// same secret (or speaks no TLS), `timeout` after `deadline`.
    public func startTLS(_ secret: ClusterSecret, asServer: Bool, deadline: ContinuousClock.Instant) async throws {
        precondition(tls == nil, "TLS started twice")
        precondition(decoder.bufferedBytes == 0, "TLS started after plaintext was read")
        let session = try TLSSession(contexts: secret.tls, server: asServer, fd: fd)
        tls = session
        while true {
            try checkOpen()
            switch session.handshake() {
            case .done:
                return
            case .wantRead:
                try await waitForEvent(.input, deadline: deadline)
            case .wantWrite:
                try await waitUntilWritable(deadline: deadline)
            case .closed:
                throw handshakeFailure("the peer ended it", asServer: asServer)
            case .failed(let reason, _):
                throw handshakeFailure(reason, asServer: asServer)
            }
        }
    }

    private func handshakeFailure(_ reason: String, asServer: Bool) -> DFSError {
        DFSError(
            .unauthorized,
            asServer
                ? "TLS handshake with the cluster secret failed (\(reason)): the peer has another secret, or none"
                : "\(name) did not complete a TLS handshake with the cluster secret (\(reason)): it has another secret, or none")
    }

    /// The first byte the peer sends, left in the socket; nil when it closes first.
    public func peekFirstByte(deadline: ContinuousClock.Instant) async throws -> UInt8? {
        var byte: UInt8 = 0
        while true {
            try checkOpen()
            let progress: SocketProgress
            do {
                progress = try SocketCalls.peek(fd, byte: &byte, peer: name)
            } catch {
                throw DFSError(.connectionFailed, "connection to \(name) failed: \(error.reason)")
            }
            switch progress {
            case .moved: return byte
            case .ended: return nil
            case .wouldBlock: try await waitForEvent(.input, deadline: deadline)
            }
        }
    }

    /// One TLS read into `buffer`, as a read(2) would report it.
    func receiveTLS(_ session: TLSSession, into buffer: UnsafeMutableRawBufferPointer) throws -> SocketProgress {
        switch session.read(into: buffer) {
        case .done(let count): return count > 0 ? .moved(count) : .wouldBlock
        case .wantRead, .wantWrite: return .wouldBlock
        // The end of the stream with or without close_notify: frames are length-prefixed, so
        // one cut short is noticed by the frame layer either way.
        case .closed, .failed(_, eof: true): return .ended
        case .failed(let reason, eof: false):
            throw DFSError(.connectionFailed, "TLS session with \(name) failed: \(reason)")
        }
    }

    /// One TLS write of `bytes` (all of them, as records of up to 16 KiB), as a send(2) would
    /// report it. After `.wouldBlock` the same bytes must be offered again.
    func sendTLS(_ session: TLSSession, _ bytes: UnsafeRawBufferPointer) throws -> SocketProgress {
        switch session.write(bytes) {
        case .done(let count): return .moved(count)
        case .wantWrite: return .wouldBlock
        case .wantRead:
            throw DFSError(.connectionFailed, "TLS session with \(name) wants to read in the middle of a write")
        case .closed, .failed(_, eof: true):
            throw DFSError(.connectionFailed, "connection to \(name) lost")
        case .failed(let reason, eof: false):
            throw DFSError(.connectionFailed, "TLS session with \(name) failed: \(reason)")
        }
    }
}
