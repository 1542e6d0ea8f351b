import DFSCore
import DFSSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Addresses and endpoints for the socket calls, which DFSSystem's ``SocketCalls`` makes
/// (EINTR retried there, in one place).
enum Socket {
    /// The text of an errno, lower-cased as it reads in the middle of a sentence.
    static func describe(_ code: Int32) -> String {
        SystemError.reason(of: code)
    }

    /// The type for socket(2) (see ``SocketCalls/streamType``).
    static let streamType = SocketCalls.streamType

    /// setsockopt(TCP_NODELAY): frames are written whole, so Nagle's delay only adds latency.
    static func setNoDelay(_ fd: Int32) {
        SocketCalls.setOption(fd, level: Int32(IPPROTO_TCP), TCP_NODELAY, to: 1)
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
        var lastError: SystemError?
        let subject = Endpoint(host: host, port: port).description
        for candidate in addresses {
            let fd: Int32
            do {
                fd = try SocketCalls.openStream(family: candidate.family, for: subject)
            } catch {
                lastError = error
                continue
            }
            SocketCalls.setOption(fd, level: SOL_SOCKET, SO_REUSEADDR, to: 1)
            do {
                try SocketCalls.bindAndListen(fd, to: candidate.address, length: candidate.length, backlog: backlog, subject: subject)
                return fd
            } catch {
                lastError = error
                SocketCalls.close(fd)
            }
        }
        throw DFSError(.connectionFailed, "cannot listen on \(subject): \(lastError?.reason ?? describe(0))")
    }
}
