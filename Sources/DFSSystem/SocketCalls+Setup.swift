import CNetShims
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What one accept(2) on a non-blocking listening socket gave.
public enum AcceptOutcome: Sendable {
    /// A new connection's socket, non-blocking and close-on-exec, and its peer's address.
    case accepted(Int32, sockaddr_storage)
    /// No connection is waiting.
    case wouldBlock
    /// The call failed; ``SystemError/errno`` tells whether it is the process's descriptor
    /// limit (EMFILE, ENFILE) or something else.
    case failed(SystemError)
}

/// The calls that make, connect and accept sockets, each retrying EINTR in
/// ``retryingInterrupts(_:)`` and failing with a ``SystemError`` naming the address.
extension SocketCalls {
    /// The type for socket(2): TCP, non-blocking from the start, and close-on-exec (a
    /// process we spawn must not inherit our sockets, which would keep ports and connections
    /// open after we close them).
    public static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    /// socket(2): a non-blocking, close-on-exec TCP socket of `family`.
    public static func openStream(family: Int32, for subject: String) throws(SystemError) -> Int32 {
        let fd = socket(family, streamType, 0)
        guard fd >= 0 else { throw .current("socket", subject) }
        return fd
    }

    /// setsockopt(2) of an integer option; a failure is not reported (every option set here
    /// is a tuning: TCP_NODELAY, SO_REUSEADDR).
    public static func setOption(_ fd: Int32, level: Int32, _ name: Int32, to value: Int32) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// bind(2) then listen(2).
    public static func bindAndListen(_ fd: Int32, to address: sockaddr_storage, length: socklen_t, backlog: Int32, subject: String)
        throws(SystemError)
    {
        try bind(fd, to: address, length: length, subject: subject)
        try listen(fd, backlog: backlog, subject: subject)
    }

    /// bind(2).
    public static func bind(_ fd: Int32, to address: sockaddr_storage, length: socklen_t, subject: String) throws(SystemError) {
        var address = address
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0 else { throw .current("bind", subject) }
    }

    /// listen(2).
    public static func listen(_ fd: Int32, backlog: Int32, subject: String) throws(SystemError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw .current("listen", subject) }
    }

    /// A socket bound to 127.0.0.1 on a port the kernel picks (listening or not), with that
    /// port: for tests that need a port nobody else takes.
    public static func openLoopback(listening: Bool) throws(SystemError) -> (fd: Int32, port: Int) {
        let fd = try openStream(family: AF_INET, for: "127.0.0.1")
        do throws(SystemError) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
            try bind(fd, to: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size), subject: "127.0.0.1")
            if listening { try listen(fd, backlog: 64, subject: "127.0.0.1") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw SystemError.current("getsockname", "127.0.0.1") }
            return (fd, Int(UInt16(bigEndian: address.sin_port)))
        } catch {
            close(fd)
            throw error
        }
    }

    /// connect(2) of a non-blocking socket: returns true when connected at once, false when
    /// the connection is under way (EINPROGRESS: wait for the socket to be writable).
    public static func startConnect(_ fd: Int32, to address: sockaddr_storage, length: socklen_t, subject: String) throws(SystemError) -> Bool {
        var address = address
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result == 0 { return true }
        // A connect interrupted by a signal goes on in the background, as EINPROGRESS does.
        if Glibc.errno == EINPROGRESS || Glibc.errno == EINTR { return false }
        throw .current("connect", subject)
    }

    /// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (CNetShims' `dfs_accept_nonblocking`);
    /// EINTR and ECONNABORTED (a peer gone before it was accepted) are tried again.
    public static func accept(_ fd: Int32, subject: String) -> AcceptOutcome {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    retryingInterrupts { dfs_accept_nonblocking(fd, address, &length) }
                }
            }
            if client >= 0 { return .accepted(client, storage) }
            let code = Glibc.errno
            if code == ECONNABORTED { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(SystemError("accept", subject, errno: Errno(rawValue: code)))
        }
    }

    /// send(2) of a few bytes without waiting (MSG_DONTWAIT) and without SIGPIPE: for the
    /// one frame that tells a refused peer why. What does not fit is dropped.
    public static func sendWithoutWaiting(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { raw in retryingInterrupts { Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } }
    }
}
