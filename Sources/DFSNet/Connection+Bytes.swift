import DFSCore
import DFSSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Bytes as they come, for protocols that frame their own messages (HTTP): the same read
/// path, turns, watchers and deadlines as frames, without the frame decoder.
extension Connection {
    /// Reads what has arrived, at most `maxBytes`, waiting until at least one byte is here.
    ///
    /// Returns nil when the peer has closed its side. Throws a `timeout` error when nothing
    /// arrives before `deadline`, and `connectionFailed` when the connection fails or is
    /// closed meanwhile. Not to be mixed with frames on one connection: bytes the frame
    /// decoder holds would be skipped.
    public func readSome(maxBytes: Int, before deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        precondition(maxBytes > 0, "a read of no bytes")
        precondition(decoder.bufferedBytes == 0, "bytes read as frames and as bytes on one connection")
        await takeTurn(.input)
        defer { endTurn(.input) }
        while true {
            if sawEndOfStream { return nil }
            try checkOpen()
            var bytes = [UInt8](repeating: 0, count: maxBytes)
            let progress = try bytes.withUnsafeMutableBytes { try receive(into: $0) }
            switch progress {
            case .moved(let count):
                bytes.removeSubrange(count...)
                return bytes
            case .ended:
                sawEndOfStream = true
                return nil
            case .wouldBlock:
                try await waitForEvent(.input, deadline: deadline)
            }
        }
    }

    /// Sends `head` then `body` as they are, in one sendmsg(2) when the kernel has room;
    /// suspends while its buffer is full and throws when no room comes before `deadline`.
    /// A send cut off midway closes the connection, as a frame's does.
    public func sendBytes(_ head: [UInt8], _ body: [UInt8] = [], before deadline: ContinuousClock.Instant) async throws {
        try await write(header: head, payload: body.isEmpty ? .none : .array(body), deadline: deadline)
    }

    /// shutdown(2) of the sending side: the peer reads the end of the stream after what was
    /// sent, while this side can still read what the peer sends. A server that refuses a
    /// request half-closes first and reads on for a moment: closing a socket with unread bytes
    /// resets the connection, and the reset can overtake the answer.
    public func shutdownOutput() {
        guard !isClosed else { return }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }
}
