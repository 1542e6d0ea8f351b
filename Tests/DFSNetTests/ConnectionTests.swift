import DFSCore
import Foundation
import Testing

@testable import DFSNet

#if canImport(Glibc)
    import Glibc
#endif

/// The transport on loopback: frames, backpressure, deadlines, the pool.
@Suite struct ConnectionTests {
    /// A server that answers each `list` with a `listOK` naming the path, and each
    /// `blockData` with a `blockData` carrying the same payload.
    static func echoServer(connectionsMax: Int = 16) async throws -> Listener {
        let listener = try Listener(host: "127.0.0.1", port: 0, connectionsMax: connectionsMax, component: "test")
        await listener.start { connection in
            await FrameServer.serve(connection, role: .metaServer, component: "test", timeouts: .standard) { frame, connection in
                switch frame.type {
                case MessageType.list.rawValue:
                    let request = try frame.decode(List.self)
                    let info = FileInfo(path: request.path, type: .dir, size: 0, mtime: 0, replication: 1, blockBytes: 4096)
                    try await connection.send(ListOK(info: info, entries: [], more: false), timeout: .seconds(20))
                case MessageType.blockData.rawValue:
                    try await connection.send(BlockData(checksums: BlockData.checksums(of: frame.payload)), payload: frame.payload, timeout: .seconds(20))
                default:
                    throw DFSError(.notFound, "nothing here")
                }
            }
        }
        return listener
    }

    @Test func requestAndReplyRoundTrip() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        let reply = try await connection.request(List(path: try DFSPath("/a/b")), expecting: ListOK.self, timeout: .seconds(20))
        #expect(reply.info.path == (try DFSPath("/a/b")))
        await connection.close()
        await server.close()
    }

    @Test func payloadsOfManySizesComeBackIntact() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        for size in [0, 1, 4095, 65536, 1 << 20, Limits.payloadBytesMax] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(10))
            let (_, frame) = try await connection.readReply(BlockData.self, timeout: .seconds(10))
            #expect(frame.payload == payload, "size \(size)")
        }
        await connection.close()
        await server.close()
    }

    /// A reader that hands each payload back for the next frame gets every payload intact,
    /// whether the next is longer, shorter or larger than the spare; a spare someone else
    /// still holds is left as it was.
    @Test func reusedPayloadBuffersCarryEachFrameIntact() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        var spare: [UInt8]?
        var kept: [[UInt8]] = []
        for (round, size) in [1 << 20, 1 << 20, 70_000, 1 << 20, 3 << 20, 65536, 200_000].enumerated() {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ round) }
            try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(10))
            guard let frame = try await connection.readFrame(timeout: .seconds(10), reusing: spare.take()) else {
                Issue.record("no reply in round \(round)")
                break
            }
            #expect(frame.payload == payload, "round \(round), \(size) bytes")
            if round == 3 {
                // Still held here: the next frame must not be written into these bytes.
                kept.append(frame.payload)
            }
            spare = frame.payload
        }
        #expect(kept.first == (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 3) })
        await connection.close()
        await server.close()
    }

    /// A large payload is read straight into the spare buffer the reader hands in, not into
    /// new memory: the frame comes back in the spare's own storage.
    @Test func largePayloadIsReadIntoTheSpareItself() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var spare: [UInt8]? = [UInt8](repeating: 0, count: 1 << 20)
        let spareAddress = spare!.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(10))
        let frame = try #require(try await connection.readFrame(timeout: .seconds(10), reusing: spare.take()))
        #expect(frame.payload == payload)
        #expect(frame.payload.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == spareAddress)
        await connection.close()
        await server.close()
    }

    /// Payloads sent from a file (sendfile) arrive as the file's bytes; a file that ends
    /// before the frame does is an error, and the frame cut short closes the connection.
    @Test func filePayloadsArriveIntactAndAShortFileClosesTheConnection() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-sendfile-\(UUID().uuidString.prefix(8))").path
        let contents = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 11)) }
        try Data(contents).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let file = open(path, O_RDONLY)
        try #require(file >= 0)
        defer { close(file) }
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        for (offset, count) in [(0, 0), (0, 1), (100, 65536), (0, Limits.payloadBytesMax), (1 << 20, 4 << 20), ((5 << 20) - 3, 3)] {
            try await connection.send(BlockData(checksums: []), file: file, offset: offset, count: count, timeout: .seconds(10))
            let (_, frame) = try await connection.readReply(BlockData.self, timeout: .seconds(10))
            #expect(frame.payload == Array(contents[offset..<(offset + count)]), "\(count) bytes at \(offset)")
        }
        let error = await #expect(throws: DFSError.self) {
            try await connection.send(BlockData(checksums: []), file: file, offset: (5 << 20) - 10, count: 100, timeout: .seconds(10))
        }
        #expect(error?.code == .ioError)
        #expect(await connection.isClosed)
        await server.close()
    }

    @Test func errorReplyLeavesTheConnectionUsable() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        let result = try await connection.requestResult(GetFile(path: .root), expecting: GetFileOK.self, timeout: .seconds(20))
        guard case .failure(let error) = result else {
            Issue.record("expected an error reply")
            return
        }
        #expect(error.code == .notFound)
        let reply = try await connection.request(List(path: .root), expecting: ListOK.self, timeout: .seconds(20))
        #expect(reply.info.path == .root)
        await connection.close()
        await server.close()
    }

    /// A reader that does not read stops the writer: the writer's send times out instead of
    /// the bytes piling up in memory.
    @Test func slowReaderStopsTheWriter() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        let accepted = Mutex<Connection?>(nil)
        await listener.start { connection in
            accepted.withLock { $0 = connection }
            // Never read; hold the connection until the test ends.
            try? await Task.sleep(for: .seconds(30))
        }
        let writer = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        let payload = [UInt8](repeating: 7, count: 1 << 20)
        var sentFrames = 0
        var stopped = false
        // Kernel buffers on loopback hold a few MiB at most; 256 MiB can never all fit.
        while sentFrames < 256 {
            do {
                try await writer.send(BlockData(checksums: []), payload: payload, timeout: .milliseconds(300))
                sentFrames += 1
            } catch let error as DFSError {
                #expect(error.code == .timeout)
                stopped = true
                break
            }
        }
        #expect(stopped, "sent \(sentFrames) MiB to a peer that reads nothing")
        #expect(sentFrames < 256)
        await writer.close()
        await listener.close()
    }

    /// A peer's reset raises a hang-up (EPOLLHUP) on the socket. Dispatch's Linux event loop
    /// handles a hang-up on a descriptor it watches by unregistering the source from a worker
    /// thread while its manager thread still uses the same records, which crashed servers now
    /// and then. So no source may watch the socket itself: each watches an epoll descriptor
    /// of its own, which never reports a hang-up; and a reset still ends a waiting reader and
    /// a waiting writer at once.
    @Test func sourcesWatchEpollDescriptorsAndAResetEndsBothWaits() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        let accepted = Mutex<Connection?>(nil)
        await listener.start { connection in
            accepted.withLock { $0 = connection }
            try? await Task.sleep(for: .seconds(30))
        }
        // The peer: a plain blocking socket that reads nothing and then resets.
        let peer = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(listener.endpoint.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(peer, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        var server: Connection?
        for _ in 0..<500 where server == nil {
            server = accepted.withLock { $0 }
            if server == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let connection = try #require(server)

        func outcome(_ body: @escaping @Sendable () async throws -> Void) -> Task<String, Never> {
            Task {
                do {
                    try await body()
                    return "no error"
                } catch let error as DFSError {
                    return error.code == .connectionFailed ? "failed" : "\(error.code): \(error.message)"
                } catch {
                    return "\(error)"
                }
            }
        }
        let reader = outcome { _ = try await connection.readFrame(timeout: .seconds(20)) }
        let writer = outcome {
            let payload = [UInt8](repeating: 3, count: 1 << 20)
            for _ in 0..<256 { try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(20)) }
        }
        // Both wait: the writer on a full send buffer, so its source exists too.
        var watched: [Int32] = []
        for _ in 0..<500 where watched.count < 2 {
            watched = await connection.watchedDescriptors()
            if watched.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(watched.count == 2)
        for descriptor in watched {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")) ?? "?"
            #expect(target == "anon_inode:[eventpoll]", "descriptor \(descriptor) is \(target)")
        }

        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(peer, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(peer)
        // Both end with the connection's failure, not with their 20 s deadline (a timeout).
        #expect(await reader.value == "failed")
        #expect(await writer.value == "failed")
        await connection.close()
        await listener.close()
    }

    /// A reader's deadline holds while a writer on the same connection keeps waiting for
    /// room (as a pipeline node reads acknowledgements while it forwards data).
    @Test func readDeadlineHoldsWhileAWriterWaits() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        await listener.start { _ in try? await Task.sleep(for: .seconds(30)) }
        let connection = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        let writer = Task {
            let payload = [UInt8](repeating: 1, count: 1 << 20)
            for _ in 0..<256 {
                try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(20))
            }
        }
        let started = ContinuousClock.now
        let outcome = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                do {
                    _ = try await connection.readFrame(timeout: .milliseconds(400))
                    return "read a frame"
                } catch let error as DFSError {
                    return error.code == .timeout ? "timed out" : error.message
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(8))
                return "still waiting after 8 s"
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        #expect(outcome == "timed out")
        #expect(ContinuousClock.now - started < .seconds(8))
        writer.cancel()
        await connection.close()
        _ = await writer.result
        await listener.close()
    }

    /// Two tasks sending on one connection at once take turns: every frame arrives whole.
    @Test func concurrentSendersTakeTurns() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.open(to: server.endpoint, role: .client, timeout: .seconds(20))
        let payload = [UInt8](repeating: 9, count: 3 << 20)
        // The echoes are read while the frames go out: a peer that only writes would fill
        // both sides' buffers and stall the echo server.
        let reader = Task {
            var echoed: [[UInt8]] = []
            for _ in 0..<4 {
                let (_, frame) = try await connection.readReply(BlockData.self, timeout: .seconds(20))
                echoed.append(frame.payload)
            }
            return echoed
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { try await connection.send(BlockData(checksums: []), payload: payload, timeout: .seconds(20)) }
            }
            try await group.waitForAll()
        }
        let echoed = try await reader.value
        #expect(echoed.count == 4 && echoed.allSatisfy { $0 == payload })
        await connection.close()
        await server.close()
    }

    @Test func silentPeerMakesReadTimeOut() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        await listener.start { _ in try? await Task.sleep(for: .seconds(30)) }
        let connection = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        let started = ContinuousClock.now
        let error = await #expect(throws: DFSError.self) {
            _ = try await connection.readFrame(timeout: .milliseconds(200))
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(10))
        await connection.close()
        await listener.close()
    }

    @Test func cancellingAReaderEndsItsWait() async throws {
        let listener = try Listener(host: "127.0.0.1", port: 0, component: "test")
        await listener.start { _ in try? await Task.sleep(for: .seconds(30)) }
        let connection = try await Connection.connect(to: listener.endpoint, timeout: .seconds(20))
        let reader = Task { try await connection.readFrame(timeout: .seconds(60)) }
        reader.cancel()
        let outcome = await reader.result
        #expect(throws: (any Error).self) { try outcome.get() }
        await connection.close()
        await listener.close()
    }

    @Test func poolReusesOneConnectionForSequentialRequests() async throws {
        let server = try await Self.echoServer()
        let pool = ConnectionPool(role: .client)
        for _ in 0..<20 {
            _ = try await pool.request(List(path: .root), to: server.endpoint, expecting: ListOK.self)
        }
        #expect(await server.connectionCount == 1)
        await pool.closeAll()
        await server.close()
    }

    @Test func poolReplacesAConnectionTheServerClosed() async throws {
        var server = try await Self.echoServer()
        let pool = ConnectionPool(role: .client)
        _ = try await pool.request(List(path: .root), to: server.endpoint, expecting: ListOK.self)
        let port = server.endpoint.port
        await server.close()
        // A new server on the same port: the pooled connection is dead and must not be used.
        server = try Listener(host: "127.0.0.1", port: port, component: "test")
        await server.start { connection in
            await FrameServer.serve(connection, role: .metaServer, component: "test", timeouts: .standard) { frame, connection in
                let info = FileInfo(path: .root, type: .dir, size: 0, mtime: 0, replication: 1, blockBytes: 4096)
                try await connection.send(ListOK(info: info, entries: [], more: false), timeout: .seconds(20))
            }
        }
        let reply = try await pool.request(List(path: .root), to: server.endpoint, expecting: ListOK.self)
        #expect(reply.entries.isEmpty)
        await pool.closeAll()
        await server.close()
    }

    @Test func wrongProtocolVersionIsRefused() async throws {
        let server = try await Self.echoServer()
        let connection = try await Connection.connect(to: server.endpoint, timeout: .seconds(20))
        var hello = Hello(role: .client)
        hello.protocolVersion = 99
        try await connection.send(hello, timeout: .seconds(20))
        let reply = try #require(try await connection.readFrame(timeout: .seconds(20)))
        let error = try reply.decode(ErrorMessage.self).error
        #expect(error.code == .protocolError)
        #expect(error.message.contains("99"))
        await connection.close()
        await server.close()
    }
}
