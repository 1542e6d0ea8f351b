import CNetShims
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The calls a connection makes besides moving bytes: watching its socket, waiting for room,
/// learning how a connect ended, and sending a frame's two parts in one call.
extension SocketCalls {
    /// sendmsg(2) of `first` then `second` (either may be empty) as ``send(_:_:more:peer:)``
    /// does, but with the two iovecs on the stack: a frame's header and payload go out with
    /// no allocation per call.
    public static func send(
        _ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, more: Bool, peer: String
    ) throws(SystemError) -> SocketProgress {
        let flags = Int32(MSG_NOSIGNAL) | (more ? Int32(MSG_MORE) : 0)
        let result = withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { vectors in
            var count = 0
            if first.count > 0 {
                vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress!), iov_len: first.count)
                count += 1
            }
            if second.count > 0 {
                vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress!), iov_len: second.count)
                count += 1
            }
            return retryingInterrupts {
                var message = msghdr()
                message.msg_iov = vectors.baseAddress
                message.msg_iovlen = count
                return sendmsg(fd, &message, flags)
            }
        }
        if result == 0 { return .wouldBlock }
        if result > 0 { return .moved(result) }
        let code = Glibc.errno
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemError("send to", peer, errno: Errno(rawValue: code))
    }

    /// A new epoll descriptor that holds `fd`, level-triggered, for input or for output
    /// (`dfs_epoll_watching`): readable exactly while the socket is ready that way, has failed
    /// or has hung up, and never itself reporting a hang-up.
    public static func watcher(of fd: Int32, output: Bool, peer: String) throws(SystemError) -> Int32 {
        let watcher = dfs_epoll_watching(fd, output ? 1 : 0)
        guard watcher >= 0 else { throw SystemError.current("epoll_ctl for", peer) }
        return watcher
    }

    /// poll(2) without waiting: true when the socket can take bytes, or has failed (the next
    /// send then says how).
    public static func canSendOrFailed(_ fd: Int32) -> Bool {
        var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        return retryingInterrupts { poll(&request, 1, 0) } > 0
    }

    /// getsockopt(SO_ERROR): how a non-blocking connect(2) ended, nil when it succeeded.
    public static func connectError(_ fd: Int32) -> Errno? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        return code == 0 ? nil : Errno(rawValue: code)
    }

    /// sendfile(2) has no MSG_NOSIGNAL: a peer gone away would raise SIGPIPE, whose default
    /// action ends the process. Call before ``sendFile(_:from:offset:count:peer:)``: the
    /// signal is ignored once, unless the program already chose a handler.
    public static func ignoreBrokenPipe() {
        brokenPipeIgnored
    }

    private static let brokenPipeIgnored: Void = {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }()
}
