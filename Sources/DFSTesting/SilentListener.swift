import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback port that listens but never accepts: connections to it succeed (the kernel
/// queues them) and then nothing is ever answered, as with a stopped process. For tests of
/// hung peers that need no process of their own.
public final class SilentListener: @unchecked Sendable {
    public let endpoint: Endpoint
    private let fd: Int32

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard fd >= 0, bound == 0, named == 0, listen(fd, 64) == 0 else {
            if fd >= 0 { close(fd) }
            throw DFSError(.internalError, "cannot open a silent loopback listener")
        }
        self.fd = fd
        endpoint = Endpoint(host: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)))
    }

    deinit { close(fd) }
}
