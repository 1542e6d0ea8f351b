import DFSCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile peers for the security tests, on plain blocking sockets and threads of their own:
/// they see and send raw bytes, as an attacker on the path would.

/// A listening socket on 127.0.0.1, port chosen by the kernel.
private func listenOnLoopback() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DFSError(.ioError, "socket failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound, listen(fd, 16) == 0 else {
        close(fd)
        throw DFSError(.ioError, "cannot listen on loopback")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A blocking TCP connection to 127.0.0.1:`port`.
func connectToLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard fd >= 0, connected else {
        close(fd)
        throw DFSError(.connectionFailed, "cannot connect to 127.0.0.1:\(port)")
    }
    return fd
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
        let result = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
        if result <= 0 { return false }
        sent += result
    }
    return true
}

/// Forwards one connection's bytes both ways between a member and a server, recording what
/// the member sent; on `takeOver`, stops forwarding the member and sends its own bytes.
final class ByteRelay: @unchecked Sendable {
    let endpoint: Endpoint
    private let listener: Int32
    private let state = Mutex<(client: [UInt8], takenOver: Bool, serverClosed: Bool, sockets: [Int32])>(([], false, false, []))

    init(to server: Endpoint) throws {
        let (fd, port) = try listenOnLoopback()
        listener = fd
        endpoint = Endpoint(host: "127.0.0.1", port: port)
        Thread.detachNewThread { [self] in self.run(serverPort: server.port) }
    }

    var clientBytes: [UInt8] { state.withLock { $0.client } }
    var serverClosed: Bool { state.withLock { $0.serverClosed } }

    private func run(serverPort: Int) {
        let member = accept(listener, nil, nil)
        guard member >= 0, let server = try? connectToLoopback(port: serverPort) else { return }
        state.withLock { $0.sockets += [member, server] }
        // Server to member, until the server closes.
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                if state.withLock({ $0.takenOver }) { continue }
                if !writeAll(member, Array(buffer[0..<count])) { break }
            }
            state.withLock { $0.serverClosed = true }
        }
        // Member to server, until taken over.
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(member, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            let forward = state.withLock { state -> Bool in
                if state.takenOver { return false }
                state.client += buffer[0..<count]
                return true
            }
            if forward && !writeAll(server, Array(buffer[0..<count])) { return }
        }
    }

    /// Stops forwarding the member and sends `bytes` to the server in its place.
    func takeOver(inject bytes: [UInt8]) {
        let server = state.withLock { state -> Int32? in
            state.takenOver = true
            return state.sockets.count == 2 ? state.sockets[1] : nil
        }
        if let server { _ = writeAll(server, bytes) }
    }

    func stop() {
        let sockets = state.withLock { $0.sockets }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in sockets { close(fd) }
    }
}

/// Accepts connections and answers each with `reply` as soon as it has read anything,
/// recording the first bytes every connection sent.
final class FakeServer: @unchecked Sendable {
    let endpoint: Endpoint
    private let listener: Int32
    private let state = Mutex<(received: [[UInt8]], sockets: [Int32], stopped: Bool)>(([], [], false))

    init(reply: [UInt8]) throws {
        let (fd, port) = try listenOnLoopback()
        listener = fd
        endpoint = Endpoint(host: "127.0.0.1", port: port)
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 || state.withLock({ $0.stopped }) { return }
                state.withLock { $0.sockets.append(connection) }
                var buffer = [UInt8](repeating: 0, count: 65536)
                let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    state.withLock { $0.received.append(Array(buffer[0..<count])) }
                    _ = writeAll(connection, reply)
                }
                shutdown(connection, Int32(SHUT_WR))
            }
        }
    }

    /// What each connection sent first.
    var received: [[UInt8]] { state.withLock { $0.received } }

    func stop() {
        let sockets = state.withLock { state -> [Int32] in
            state.stopped = true
            return state.sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in sockets { close(fd) }
    }
}
