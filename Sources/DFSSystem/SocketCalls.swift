import CNetShims
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What one call on a non-blocking socket did.
public enum SocketProgress: Equatable, Sendable {
    /// This many bytes moved (more than zero).
    case moved(Int)
    /// The socket's buffer is empty (reading) or full (writing): wait for the source.
    case wouldBlock
    /// The peer closed its side (reading), or the file ended (sendfile).
    case ended
}

/// The calls a connection makes on its non-blocking socket, each retrying EINTR and turning
/// EAGAIN into ``SocketProgress/wouldBlock``; any other errno is thrown with `peer` named.
public enum SocketCalls {
    /// read(2) into `buffer`.
    public static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, peer: String) throws(SystemError) -> SocketProgress {
        let result = retryingInterrupts { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        return try progress(result, call: "read from", peer: peer)
    }

    /// sendmsg(2) of `buffers` in order, with MSG_NOSIGNAL (a closed peer is an error, never
    /// a SIGPIPE) and MSG_MORE when `more` bytes follow at once.
    public static func send(_ fd: Int32, _ buffers: [UnsafeRawBufferPointer], more: Bool, peer: String) throws(SystemError) -> SocketProgress {
        var vectors = buffers.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress!), iov_len: $0.count) }
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        let result = vectors.withUnsafeMutableBufferPointer { vectors in
            retryingInterrupts {
                var message = msghdr()
                message.msg_iov = vectors.baseAddress
                message.msg_iovlen = vectors.count
                return sendmsg(fd, &message, flags)
            }
        }
        if result == 0 { return .wouldBlock }
        return try progress(result, call: "send to", peer: peer)
    }

    /// sendfile(2) of up to `count` bytes of `file` from `offset`.
    public static func sendFile(_ fd: Int32, from file: Int32, offset: Int, count: Int, peer: String) throws(SystemError) -> SocketProgress {
        let result = retryingInterrupts {
            var position = off_t(offset)
            return Glibc.sendfile(fd, file, &position, count)
        }
        return try progress(result, call: "sendfile to", peer: peer)
    }

    /// The next byte the socket holds, left there (recv(2) with MSG_PEEK): `.moved(1)` with
    /// `byte` set, `.ended` at end of stream, `.wouldBlock` when nothing has come yet.
    public static func peek(_ fd: Int32, byte: inout UInt8, peer: String) throws(SystemError) -> SocketProgress {
        let result = retryingInterrupts { recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        return try progress(result, call: "read from", peer: peer)
    }

    /// True when a peek finds the peer closed or bytes waiting that nobody asked for; false
    /// when the socket is quiet (EAGAIN).
    public static func hasInputOrClosed(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        // A failed socket counts as closed.
        return (try? peek(fd, byte: &byte, peer: "")) != .wouldBlock
    }

    /// close(2), whose failure leaves nothing to do: the descriptor is gone either way on Linux.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    private static func progress(_ result: Int, call: String, peer: String) throws(SystemError) -> SocketProgress {
        if result > 0 { return .moved(result) }
        if result == 0 { return .ended }
        let code = Glibc.errno
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call, peer, errno: Errno(rawValue: code))
    }
}
