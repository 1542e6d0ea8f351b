import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Thin wrappers over the socket calls, each retrying EINTR in one place.
enum Socket {
    /// The text of an errno, lower-cased as it reads in the middle of a sentence.
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }

    /// The type for socket(2): TCP, non-blocking from the start, and close-on-exec (a
    /// process we spawn must not inherit our sockets, which would keep ports and connections
    /// open after we close them).
    static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    /// setsockopt(TCP_NODELAY): frames are written whole, so Nagle's delay only adds latency.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// getpeername(2) as an endpoint, nil when the socket has no peer.
    static func peerEndpoint(_ fd: Int32) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        return endpoint(from: storage)
    }

    /// getsockname(2) as an endpoint: how a listener bound to port 0 learns its real port.
    static func localEndpoint(_ fd: Int32) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        return endpoint(from: storage)
    }

    static func endpoint(from storage: sockaddr_storage) -> Endpoint? {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var inAddress = address.pointee.sin_addr
                    inet_ntop(AF_INET, &inAddress, &text, socklen_t(text.count))
                    return Endpoint(host: String(cString: text), port: Int(UInt16(bigEndian: address.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var inAddress = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &inAddress, &text, socklen_t(text.count))
                    return Endpoint(host: String(cString: text), port: Int(UInt16(bigEndian: address.pointee.sin6_port)))
                }
            }
        default:
            return nil
        }
    }

    /// getaddrinfo(3): the addresses of `host` for a TCP socket. Blocking (DNS), so callers
    /// run it off the cooperative pool.
    static func resolve(host: String, port: Int, passive: Bool) throws -> [(family: Int32, address: sockaddr_storage, length: socklen_t)] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        if passive { hints.ai_flags = AI_PASSIVE }
        var list: UnsafeMutablePointer<addrinfo>?
        let name: String? = host.isEmpty ? nil : host
        let status = getaddrinfo(name, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status)).lowercased()
            throw DFSError(.connectionFailed, "cannot resolve host '\(host)': \(reason)")
        }
        defer { freeaddrinfo(first) }
        var results: [(Int32, sockaddr_storage, socklen_t)] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var storage = sockaddr_storage()
            memcpy(&storage, entry.pointee.ai_addr, Int(entry.pointee.ai_addrlen))
            results.append((entry.pointee.ai_family, storage, entry.pointee.ai_addrlen))
            cursor = entry.pointee.ai_next
        }
        // Prefer IPv4: `localhost` then means 127.0.0.1, where servers listen by default.
        return results.sorted { $0.0 == AF_INET && $1.0 != AF_INET }
    }

    /// socket(2), bind(2) and listen(2) on `host:port`; an empty host means every interface.
    static func listen(host: String, port: Int, backlog: Int32 = 512) throws -> Int32 {
        let bindHost = host.isEmpty ? "0.0.0.0" : host
        let addresses = try resolve(host: bindHost, port: port, passive: true)
        var lastError: Int32 = 0
        for candidate in addresses {
            let fd = socket(candidate.family, streamType, 0)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = candidate.address
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, candidate.length) }
            }
            if bound == 0, Glibc.listen(fd, backlog) == 0 {
                return fd
            }
            lastError = errno
            Glibc.close(fd)
        }
        throw DFSError(.connectionFailed, "cannot listen on \(Endpoint(host: host, port: port)): \(describe(lastError))")
    }
}
