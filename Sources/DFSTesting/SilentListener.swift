import DFSCore
import DFSSystem
import Foundation

/// A loopback port that listens but never accepts: connections to it succeed (the kernel
/// queues them) and then nothing is ever answered, as with a stopped process. For tests of
/// hung peers that need no process of their own.
public final class SilentListener: @unchecked Sendable {
    public let endpoint: Endpoint
    private let fd: Int32

    public init() throws {
        let (fd, port) = try boundLoopbackSocket(listening: true)
        self.fd = fd
        endpoint = Endpoint(host: "127.0.0.1", port: port)
    }

    deinit { SocketCalls.close(fd) }
}
